//! Ctrl-C (and SIGTERM): the first stops every upload at its next step with
//! its checkpoint kept; the second quits at once (checkpoints are written
//! atomically, so that is safe too).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use resumable_blocking::StopHandle;

use crate::exit::Exit;
use crate::output::Console;

/// What Ctrl-C does to uploads.
pub(crate) const UPLOAD_STOPPING: &str =
    "stopping after the request in flight; the checkpoints are kept (stdin has none)";

/// The process's interrupt state, shared by every upload thread.
#[derive(Debug)]
pub(crate) struct Interrupt {
    /// Where to say what a press does (above the progress bars).
    console: Arc<Console>,
    /// What the first press does, e.g. [`UPLOAD_STOPPING`].
    doing: &'static str,
    /// Ctrl-C presses so far.
    presses: AtomicU32,
    /// The running uploads to stop, and whether that happened.
    state: Mutex<State>,
    stopped: Condvar,
}

#[derive(Debug, Default)]
struct State {
    stopped: bool,
    handles: Vec<StopHandle>,
}

static INTERRUPT: OnceLock<Arc<Interrupt>> = OnceLock::new();

impl Interrupt {
    /// The process's interrupt state, with the Ctrl-C handler installed on
    /// first use (commands with nothing to stop leave Ctrl-C alone); `doing`
    /// says what the first press does. Without a handler (it could not be
    /// installed) Ctrl-C ends the process as usual, which keeps the
    /// checkpoints too.
    pub(crate) fn get(console: &Arc<Console>, doing: &'static str) -> Arc<Self> {
        Arc::clone(INTERRUPT.get_or_init(|| {
            let interrupt = Arc::new(Self {
                console: Arc::clone(console),
                doing,
                presses: AtomicU32::new(0),
                state: Mutex::new(State::default()),
                stopped: Condvar::new(),
            });
            let handler = Arc::clone(&interrupt);
            if let Err(error) = ctrlc::set_handler(move || handler.on_signal()) {
                console.warn(&format!(
                    "warning: cannot catch Ctrl-C ({error}); it will end the process at once"
                ));
            }
            interrupt
        }))
    }

    fn on_signal(&self) {
        if self.presses.fetch_add(1, Ordering::SeqCst) > 0 {
            self.console
                .warn("interrupted again: quitting now; the checkpoints are kept");
            std::process::exit(i32::from(Exit::Interrupted.code()));
        }
        self.console.warn(&format!(
            "interrupted: {} (Ctrl-C again to quit at once)",
            self.doing
        ));
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.stopped = true;
        for handle in state.handles.drain(..) {
            handle.stop();
        }
        self.stopped.notify_all();
    }

    /// Whether Ctrl-C was pressed.
    pub(crate) fn is_stopped(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).stopped
    }

    /// Stops `handle`'s upload on Ctrl-C (at once, when it was pressed already).
    pub(crate) fn watch(&self, handle: StopHandle) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.stopped {
            handle.stop();
        } else {
            state.handles.push(handle);
        }
    }

    /// Blocks until Ctrl-C.
    #[cfg(feature = "emulator")]
    pub(crate) fn wait(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !state.stopped {
            state = self.stopped.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}
