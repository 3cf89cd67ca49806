//! A rank's stack overflow, caught: the rank's green task runs into the guard page below its
//! stack, the kernel raises SIGSEGV, and a handler (on the thread's alternate signal stack)
//! makes the task return at once, as corosensei's trap handlers allow. The run then ends
//! with a report naming the rank, instead of the process dying.
//!
//! What is lost: the overflowed program's destructors do not run (its stack is discarded),
//! so what it owned is leaked; the run ends there anyway. Faults that are not a task's
//! stack overflow go to the handler that was there before (Rust's own, which reports a
//! thread's overflow, or the default action).
//!
//! Only on x86-64 Linux, where the interrupted registers are known; elsewhere an overflow
//! still kills the process.

use corosensei::trap::CoroutineTrapHandler;
use std::cell::Cell;

/// How a rank's task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Its program returned (its value is in the task's slot).
    Returned,
    /// It ran into its stack's guard page.
    Overflowed,
}

/// The running task's trap handler and the lowest address of its stack's mapping, where
/// its guard page is.
#[derive(Clone, Copy)]
struct Armed {
    trap: CoroutineTrapHandler<Ended>,
    limit: usize,
}

thread_local! {
    static ARMED: Cell<Option<Armed>> = const { Cell::new(None) };
}

/// Makes this thread ready to catch its tasks' overflows: the process's fault handler and
/// the thread's alternate signal stack. Called once per run of tasks, before any is
/// resumed (resuming is the hot path: every MPI call is a resumption).
pub(crate) fn install() {
    imp::install();
}

/// While the returned guard lives, a stack overflow of the task whose trap handler is
/// `trap` (its stack's mapping, guard page first, starts at `limit`) makes that task return
/// [`Ended::Overflowed`]. [`install`] must have run on this thread.
#[inline]
pub(crate) fn arm(trap: CoroutineTrapHandler<Ended>, limit: usize) -> impl Drop {
    struct Disarm(Option<Armed>);
    impl Drop for Disarm {
        #[inline]
        fn drop(&mut self) {
            ARMED.with(|a| a.set(self.0));
        }
    }
    Disarm(ARMED.with(|a| a.replace(Some(Armed { trap, limit }))))
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod imp {
    use super::{Ended, ARMED};
    use std::cell::Cell;
    use std::sync::Once;

    /// The handlers that were installed before ours, for the faults that are not ours.
    static mut PREVIOUS: [Option<libc::sigaction>; 2] = [None, None];

    thread_local! {
        static ALTSTACK: Cell<bool> = const { Cell::new(false) };
    }

    /// Installs the handler (once per process) and an alternate signal stack on this thread
    /// (a handler cannot run on the stack that overflowed).
    pub(super) fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            for (i, signal) in [libc::SIGSEGV, libc::SIGBUS].into_iter().enumerate() {
                // SAFETY: plain sigaction calls with valid pointers; `PREVIOUS` is written
                // once, here, before the handler can run.
                unsafe {
                    let mut action: libc::sigaction = std::mem::zeroed();
                    action.sa_sigaction = on_fault as *const () as usize;
                    action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                    libc::sigemptyset(&mut action.sa_mask);
                    let mut previous: libc::sigaction = std::mem::zeroed();
                    if libc::sigaction(signal, &action, &mut previous) == 0 {
                        (*std::ptr::addr_of_mut!(PREVIOUS))[i] = Some(previous);
                    }
                }
            }
        });
        if !ALTSTACK.with(Cell::get) {
            ensure_altstack();
            ALTSTACK.with(|a| a.set(true));
        }
    }

    /// Gives this thread an alternate signal stack if it has none (Rust's runtime makes one
    /// for the threads it starts; a foreign thread may lack it). Kept for the thread's life.
    fn ensure_altstack() {
        // SAFETY: plain sigaltstack and mmap calls with valid pointers.
        unsafe {
            let mut current: libc::stack_t = std::mem::zeroed();
            if libc::sigaltstack(std::ptr::null(), &mut current) != 0 || current.ss_flags & libc::SS_DISABLE == 0 {
                return;
            }
            let size = libc::SIGSTKSZ.max(64 * 1024);
            let memory = libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if memory == libc::MAP_FAILED {
                return;
            }
            let stack = libc::stack_t { ss_sp: memory, ss_flags: 0, ss_size: size };
            libc::sigaltstack(&stack, std::ptr::null_mut());
        }
    }

    extern "C" fn on_fault(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo and ucontext; the thread-local is
        // const-initialised, so reading it allocates nothing.
        unsafe {
            let uc = &mut *(context as *mut libc::ucontext_t);
            let gregs = &mut uc.uc_mcontext.gregs;
            let sp = gregs[libc::REG_RSP as usize] as usize;
            let address = (*info).si_addr() as usize;
            let page = 4096;
            if let Some(armed) = ARMED.with(|a| a.get()) {
                let in_guard = address >= armed.limit && address < armed.limit + page;
                if in_guard && armed.trap.stack_ptr_in_bounds(sp) {
                    // The task returns `Overflowed` once this handler does.
                    let regs = armed.trap.setup_trap_handler(|| Ended::Overflowed);
                    gregs[libc::REG_RIP as usize] = regs.rip as i64;
                    gregs[libc::REG_RSP as usize] = regs.rsp as i64;
                    gregs[libc::REG_RBP as usize] = regs.rbp as i64;
                    gregs[libc::REG_RDI as usize] = regs.rdi as i64;
                    gregs[libc::REG_RSI as usize] = regs.rsi as i64;
                    return;
                }
            }
            // Not ours: what was there before handles it.
            let slot = if signal == libc::SIGSEGV { 0 } else { 1 };
            match (*std::ptr::addr_of!(PREVIOUS))[slot] {
                Some(previous) if previous.sa_flags & libc::SA_SIGINFO != 0 && previous.sa_sigaction > 1 => {
                    let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                        std::mem::transmute(previous.sa_sigaction);
                    handler(signal, info, context);
                }
                previous => {
                    // Restore it and return: the fault happens again and takes its course.
                    let restore = previous.unwrap_or_else(|| std::mem::zeroed());
                    libc::sigaction(signal, &restore, std::ptr::null_mut());
                }
            }
        }
    }
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
mod imp {
    pub(super) fn install() {}
}
