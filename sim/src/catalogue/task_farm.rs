//! `task-farm`: master/worker with uneven work. Rank 0 hands out tasks whose costs vary
//! irregularly ([`task_cost`]); with `--schedule dynamic` it gives each worker a new task
//! as soon as it returns a result (self-scheduling), with `--schedule static` each worker
//! gets a fixed block of tasks up front, and the slowest block decides the time.

use super::{Param, Params, Program};
use crate::call::ANY_SOURCE;
use crate::comm::Comm;
use crate::sched::SplitMix64;
use serde_json::{json, Value};
use std::time::Duration;

/// The virtual time task `task` takes, from a hash of its number: most take 0.1 to 0.8 ms,
/// one in six about twenty times as long, so that neither a block nor a round-robin split
/// of the tasks balances the workers.
pub fn task_cost(task: u64) -> Duration {
    let h = SplitMix64::new(task).next_u64();
    let heavy = if (h >> 8) % 6 == 0 { 20 } else { 1 };
    Duration::from_micros(100 * (1 + h % 8) * heavy)
}

/// The result of task `task` (its square): the master adds them up.
pub fn task_result(task: u64) -> u64 {
    task * task
}

const WORK: i32 = 1;
const STOP: i32 = 2;
const RESULT: i32 = 3;

/// Runs `tasks` tasks on the workers; returns the sum of their results on rank 0, and the
/// number of tasks a worker did elsewhere. A worker takes a list of tasks, does them, and
/// returns the sum of their results, until it is told to stop.
pub fn task_farm(comm: &Comm, tasks: u64, dynamic: bool) -> u64 {
    let workers = comm.size() as u64 - 1;
    if comm.rank() != 0 {
        let mut done = 0;
        loop {
            let (work, status) = comm.recv_status::<Vec<u64>>(0, crate::ANY_TAG);
            if status.tag == STOP {
                return done;
            }
            for &task in &work {
                comm.compute(task_cost(task));
            }
            comm.send(&work.iter().map(|&t| task_result(t)).sum::<u64>(), 0, RESULT);
            done += work.len() as u64;
        }
    }
    let mut total = 0;
    if dynamic {
        // One task to each worker, then the next to whichever returns first.
        let mut next = 0;
        let mut busy = 0;
        for w in 1..=workers.min(tasks) {
            comm.send(&vec![next], w as usize, WORK);
            next += 1;
            busy += 1;
        }
        while busy > 0 {
            let (result, status) = comm.recv_status::<u64>(ANY_SOURCE, RESULT);
            total += result;
            if next < tasks {
                comm.send(&vec![next], status.source, WORK);
                next += 1;
            } else {
                busy -= 1;
            }
        }
    } else {
        for w in 1..=workers {
            let block: Vec<u64> = (tasks * (w - 1) / workers..tasks * w / workers).collect();
            comm.send(&block, w as usize, WORK);
        }
        for w in 1..=workers {
            total += comm.recv::<u64>(w as usize, RESULT);
        }
    }
    for w in 1..=workers {
        comm.send(&Vec::<u64>::new(), w as usize, STOP);
    }
    comm.print(format!("{tasks} tasks on {workers} workers: results add up to {total}"));
    total
}

pub(super) const PROGRAM: Program = Program {
    name: "task-farm",
    summary: "master/worker with uneven tasks: dynamic self-scheduling against static blocks",
    params: &[
        Param::count("tasks", "24", "tasks to hand out").range(0, 100_000),
        Param::choice("schedule", &["dynamic", "static"], "dynamic", "a new task per returned result, or blocks"),
    ],
    min_ranks: 2,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value {
        json!(task_farm(comm, p.number("tasks"), p.word("schedule") == "dynamic"))
    },
};
