//! Ctrl-C (SIGINT) caught for a while, instead of ending the process: by `--explore`, which
//! stops between runs, and by the launcher of a real run, which stops its job. Dropping it
//! gives SIGINT back.

use signal_hook::consts::SIGINT;
use signal_hook::SigId;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// SIGINT caught until dropped.
pub(crate) struct Sigint {
    caught: Arc<AtomicBool>,
    handlers: Vec<SigId>,
}

impl Sigint {
    /// Catches SIGINT; with `second_exits`, a second one ends the process at once with that
    /// exit code, as Ctrl-C usually does.
    pub(crate) fn catch(second_exits: Option<i32>) -> Sigint {
        let caught = Arc::new(AtomicBool::new(false));
        // The order matters: the first Ctrl-C finds the flag clear and sets it, the second
        // finds it set and exits.
        let shutdown =
            second_exits.map(|code| signal_hook::flag::register_conditional_shutdown(SIGINT, code, caught.clone()));
        let handlers =
            shutdown.into_iter().chain([signal_hook::flag::register(SIGINT, caught.clone())]).flatten().collect();
        Sigint { caught, handlers }
    }

    /// Whether SIGINT came since [`Sigint::catch`].
    pub(crate) fn caught(&self) -> bool {
        self.caught.load(Ordering::Relaxed)
    }
}

impl Drop for Sigint {
    fn drop(&mut self) {
        for id in self.handlers.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}
