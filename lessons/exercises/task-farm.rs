// Exercise `task-farm`: a master hands out tasks of uneven cost to workers. This version
// is correct but slow: every worker gets a fixed block of tasks up front, and the worker
// with the most expensive block keeps everyone waiting. `mpisim grade` in this folder
// grades it.

use mpisim::catalogue::{task_cost, task_result};
use mpisim::launch::{self, Param, Params};
use mpisim::Comm;

/// `--tasks`: how many tasks rank 0 hands out.
const PARAMS: &[Param] = &[Param::count("tasks", "24", "tasks to hand out").range(0, 100_000)];

const WORK: i32 = 1; // a message with tasks to do
const STOP: i32 = 2; // no more work: the worker returns
const RESULT: i32 = 3; // a worker's results, added up

/// Returns the sum of every task's result on rank 0 (elsewhere: how many tasks the
/// worker did).
fn task_farm(comm: &Comm, params: &Params) -> u64 {
    let tasks = params.number("tasks");
    let workers = comm.size() as u64 - 1;
    if comm.rank() == 0 {
        // Worker w gets the block of tasks (w − 1)·tasks/workers .. w·tasks/workers.
        for w in 1..=workers {
            let block: Vec<u64> = (tasks * (w - 1) / workers..tasks * w / workers).collect();
            comm.send(&block, w as usize, WORK);
        }
        let mut total = 0;
        for w in 1..=workers {
            total += comm.recv::<u64>(w as usize, RESULT);
        }
        for w in 1..=workers {
            comm.send(&Vec::<u64>::new(), w as usize, STOP);
        }
        total
    } else {
        let mut done = 0;
        loop {
            let (work, status) = comm.recv_status::<Vec<u64>>(0, mpisim::ANY_TAG);
            if status.tag == STOP {
                return done;
            }
            for &task in &work {
                comm.compute(task_cost(task)); // the task's (virtual) time
            }
            comm.send(&work.iter().map(|&t| task_result(t)).sum::<u64>(), 0, RESULT);
            done += work.len() as u64;
        }
    }
}

fn main() {
    launch::main_with_params(PARAMS, task_farm)
}
