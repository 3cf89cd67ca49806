// The reference solution of the `task-farm` exercise: self-scheduling, one task at a time
// to whichever worker returns first.

use mpisim::catalogue::{task_cost, task_result};
use mpisim::launch::{self, Param, Params};
use mpisim::{Comm, ANY_SOURCE, ANY_TAG};

const PARAMS: &[Param] = &[Param::count("tasks", "24", "tasks to hand out").range(0, 100_000)];

const WORK: i32 = 1;
const STOP: i32 = 2;
const RESULT: i32 = 3;

fn task_farm(comm: &Comm, params: &Params) -> u64 {
    let tasks = params.number("tasks");
    let workers = comm.size() as u64 - 1;
    if comm.rank() != 0 {
        let mut done = 0;
        loop {
            let (work, status) = comm.recv_status::<Vec<u64>>(0, ANY_TAG);
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
    let (mut next, mut out, mut total) = (0, 0, 0);
    for w in 1..=workers.min(tasks) {
        comm.send(&vec![next], w as usize, WORK);
        next += 1;
        out += 1;
    }
    while out > 0 {
        let (result, status) = comm.recv_status::<u64>(ANY_SOURCE, RESULT);
        total += result;
        out -= 1;
        if next < tasks {
            comm.send(&vec![next], status.source, WORK);
            next += 1;
            out += 1;
        }
    }
    for w in 1..=workers {
        comm.send(&Vec::<u64>::new(), w as usize, STOP);
    }
    total
}

fn main() {
    launch::main_with_params(PARAMS, task_farm)
}
