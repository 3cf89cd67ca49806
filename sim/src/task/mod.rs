//! Green tasks: each rank runs its program on a stackful coroutine (corosensei) with a
//! stack from a per-thread pool, and suspends into the engine at every MPI call.

use crate::call::{Call, CallKind, MpiError, Reply};
use crate::error::RankFailure;
use crate::time::Time;
use crate::trace::Site;
use crate::Rank;
use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult};
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

/// What a rank's task sees of the engine: suspend with a call, be resumed with a reply.
pub(crate) type Yielder = corosensei::Yielder<Option<Reply>, Call>;

mod overflow;

use overflow::Ended;

/// A rank's task: it returns how it ended; its program's value goes to its slot.
type Task = Coroutine<Option<Reply>, Call, Ended, DefaultStack>;

/// How a task stopped running when resumed.
pub(crate) enum Step<R> {
    /// It made an MPI call and is suspended until the reply.
    Call(Call),
    /// The program returned.
    Returned(R),
    /// The program panicked, or misused MPI where the engine could not be told (the
    /// failure's rank and time are the engine's to fill in).
    Failed(RankFailure),
}

/// A misuse found where the rank cannot suspend into the engine (it holds another rank's
/// communicator): raised as a panic with this payload, reported as an MPI error.
pub(crate) struct Misuse {
    pub call: CallKind,
    pub site: Site,
    pub error: MpiError,
}

/// Which rank of which world is running on this thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Running {
    pub world: u64,
    pub rank: Rank,
}

/// The rank running on this thread now, if any: set while a task is resumed.
#[inline]
pub(crate) fn running() -> Option<Running> {
    RUNNING.with(Cell::get)
}

/// How much of a suspended stack [`Tasks::prefetch`] asks for, below and above where its
/// task noted it suspends.
const STACK_BELOW: usize = 256;
const STACK_ABOVE: usize = 1024;

/// Stacks kept across runs, so that many small worlds (tests, sweeps) reuse their maps.
const POOL_MAX: usize = 1024;

thread_local! {
    static POOL: RefCell<(usize, Vec<DefaultStack>)> = const { RefCell::new((0, Vec::new())) };
    static CAPTURE_PANICS: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<(String, Option<Site>)>> = const { RefCell::new(None) };
    static RUNNING: Cell<Option<Running>> = const { Cell::new(None) };
    static SUSPENDED_AT: Cell<usize> = const { Cell::new(0) };
}

/// Notes, in the running task, about where on its stack it suspends (see
/// [`Tasks::prefetch`]).
#[inline(always)]
pub(crate) fn suspending() {
    let here = 0u8;
    SUSPENDED_AT.with(|s| s.set(std::hint::black_box(&here) as *const u8 as usize));
}

/// Numbers worlds, so that a rank can tell its own communicators from another run's.
static WORLDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Installs, once per process, a panic hook that records the panics of ranks (message and
/// location) instead of printing them; other panics go to the previous hook.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CAPTURE_PANICS.with(Cell::get) {
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(describe_panic(info)));
            } else {
                previous(info);
            }
        }));
    });
}

/// A panic's message and location, as a rank failure reports them.
pub(crate) fn describe_panic(info: &panic::PanicHookInfo<'_>) -> (String, Option<Site>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-text payload".into());
    let site = info.location().map(|l| Site { file: l.file().to_string().into(), line: l.line(), column: l.column() });
    (message, site)
}

/// The tasks of one run. Dropping it unwinds every suspended task (running destructors on
/// its stack) and returns the stacks to the pool.
pub(crate) struct Tasks<R> {
    tasks: Vec<Option<Task>>,
    /// Per task: where its program's value goes, and where its stack's mapping (guard page
    /// first) starts.
    slots: Vec<(Rc<Cell<Option<R>>>, usize)>,
    stack_size: usize,
    /// This run's number among the worlds of the process.
    world: u64,
    /// The watchdog's pulse, if one watches this thread.
    pulse: Option<std::sync::Arc<crate::watchdog::Pulse>>,
    /// Per task: about where its stack pointer was when it last suspended, and its stack's
    /// base (its highest address): the frames between are what resuming it touches.
    suspended_at: Vec<(usize, usize)>,
}

impl<R> Tasks<R> {
    /// Room for `n` tasks of `stack_size` bytes. Whether the machine can hold them (memory,
    /// the kernel's memory maps) was checked before, by `memory::check`.
    pub fn new(n: usize, stack_size: usize) -> Result<Tasks<R>, String> {
        install_panic_hook();
        overflow::install();
        let (mut tasks, mut slots, mut suspended_at) = (Vec::new(), Vec::new(), Vec::new());
        let table = tasks
            .try_reserve_exact(n)
            .and_then(|_| slots.try_reserve_exact(n))
            .and_then(|_| suspended_at.try_reserve_exact(n));
        table.map_err(|_| format!("cannot allocate the table of {n} ranks"))?;
        let world = WORLDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Tasks { tasks, slots, stack_size, world, pulse: crate::watchdog::pulse(), suspended_at })
    }

    /// This run's number among the worlds of the process (see [`running`]).
    pub fn world(&self) -> u64 {
        self.world
    }

    /// Creates the next rank's task.
    ///
    /// # Safety
    /// `body` may borrow data that must outlive this `Tasks` (it is dropped, unwinding the
    /// tasks, before the borrow ends).
    pub unsafe fn spawn<F>(&mut self, body: F) -> Result<(), String>
    where
        F: FnOnce(&Yielder) -> R,
    {
        let stack = take_stack(self.stack_size)?;
        let limit = corosensei::stack::Stack::limit(&stack).get();
        let base = corosensei::stack::Stack::base(&stack).get();
        let slot = Rc::new(Cell::new(None));
        let value = slot.clone();
        let run = move |yielder: &Yielder, _first: Option<Reply>| {
            value.set(Some(body(yielder)));
            Ended::Returned
        };
        // SAFETY: the caller keeps `body`'s borrows alive for as long as `self`, and `self`
        // drops (unwinds) every task before it goes away.
        let task = unsafe { Task::with_stack_unchecked(stack, run) };
        self.tasks.push(Some(task));
        self.slots.push((slot, limit));
        self.suspended_at.push((base, base));
        Ok(())
    }

    /// Runs `rank` until its next call, its return, or its panic.
    pub fn resume(&mut self, rank: usize, reply: Option<Reply>) -> Step<R> {
        let task = self.tasks[rank].as_mut().expect("a finished rank is never resumed");
        CAPTURE_PANICS.with(|c| c.set(true));
        // Restored afterwards: a rank's program may itself run a world (a nested run).
        let outer = RUNNING.with(|r| r.replace(Some(Running { world: self.world, rank })));
        let armed = overflow::arm(task.trap_handler(), self.slots[rank].1);
        if let Some(pulse) = &self.pulse {
            pulse.beat(Some(rank), None);
        }
        let result = panic::catch_unwind(AssertUnwindSafe(|| task.resume(reply)));
        if let Some(pulse) = &self.pulse {
            let last = match &result {
                Ok(CoroutineResult::Yield(call)) => Some((call.kind, call.site)),
                _ => None,
            };
            pulse.beat(None, last);
        }
        drop(armed);
        // Where it suspended, if it did (a task that ended is never resumed).
        self.suspended_at[rank].0 = SUSPENDED_AT.with(Cell::get);
        RUNNING.with(|r| r.set(outer));
        CAPTURE_PANICS.with(|c| c.set(false));
        match result {
            Ok(CoroutineResult::Yield(call)) => Step::Call(call),
            Ok(CoroutineResult::Return(Ended::Returned)) => {
                self.recycle(rank);
                Step::Returned(self.slots[rank].0.take().expect("a returned program left its value"))
            }
            Ok(CoroutineResult::Return(Ended::Overflowed)) => {
                self.recycle(rank);
                let message = format!(
                    "the rank ran out of stack: its program needs more than the {} of stack each rank has (deep \
                     recursion, or large arrays in local variables); give ranks more with --stack-size (e.g. \
                     --stack-size {}), World::stack_size in a program of your own, or put large data in a Vec",
                    crate::words::bytes(self.stack_size as u64),
                    crate::words::bytes((self.stack_size as u64 * 4).next_power_of_two()).replace(' ', ""),
                );
                Step::Failed(RankFailure {
                    rank,
                    time: Time::ZERO,
                    call: None,
                    location: None,
                    error: None,
                    panic: Some(message),
                })
            }
            Err(payload) => {
                self.recycle(rank);
                let failure =
                    |call, location, error, panic| RankFailure { rank, time: Time::ZERO, call, location, error, panic };
                if let Some(Misuse { call, site, error }) = payload.downcast_ref::<Misuse>() {
                    LAST_PANIC.with(|p| p.borrow_mut().take());
                    return Step::Failed(failure(Some(*call), Some(site.clone()), Some(error.clone()), None));
                }
                let (message, site) = LAST_PANIC
                    .with(|p| p.borrow_mut().take())
                    .unwrap_or_else(|| ("the rank unwound without a panic message".into(), None));
                Step::Failed(failure(None, site, None, Some(message)))
            }
        }
    }

    /// Asks the cache for what resuming `rank` will touch first: its task and the top of
    /// its suspended stack (the frames of the call it is in).
    #[inline]
    pub fn prefetch(&self, rank: usize) {
        crate::prefetch::value(&self.tasks[rank]);
        // Within the stack whatever was noted (a hint must not become a long loop).
        let (limit, (at, base)) = (self.slots[rank].1, self.suspended_at[rank]);
        let at = at.clamp(limit, base);
        let from = at.saturating_sub(STACK_BELOW).max(limit);
        crate::prefetch::lines(from, base.min(at + STACK_ABOVE) - from);
    }

    fn recycle(&mut self, rank: usize) {
        if let Some(task) = self.tasks[rank].take() {
            if task.done() {
                give_stack(self.stack_size, task.into_stack());
            }
        }
    }
}

impl<R> Drop for Tasks<R> {
    fn drop(&mut self) {
        for rank in 0..self.tasks.len() {
            if let Some(mut task) = self.tasks[rank].take() {
                // Unwinds the suspended program, dropping its values; it makes no calls.
                task.force_unwind();
                give_stack(self.stack_size, task.into_stack());
            }
        }
    }
}

fn take_stack(size: usize) -> Result<DefaultStack, String> {
    if let Some(stack) = POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.0 == size {
            p.1.pop()
        } else {
            None
        }
    }) {
        return Ok(stack);
    }
    DefaultStack::new(size).map_err(|e| {
        format!(
            "cannot map a {} KiB stack for another rank: {e}; run fewer ranks, or give each a smaller stack \
             (World::stack_size)",
            size / 1024
        )
    })
}

fn give_stack(size: usize, stack: DefaultStack) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.0 != size {
            p.0 = size;
            p.1.clear();
        }
        if p.1.len() < POOL_MAX {
            p.1.push(stack);
        }
    });
}

/// Stacks of `stack_size` bytes in this thread's pool: a world of that stack size reuses
/// them instead of mapping new ones.
pub(crate) fn pooled_stacks(stack_size: usize) -> usize {
    POOL.with(|p| {
        let p = p.borrow();
        if p.0 == stack_size {
            p.1.len()
        } else {
            0
        }
    })
}
