//! The one-line progress bar `ddpm sample` and `ddpm bpd` draw on stderr.

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
pub(crate) struct Progress {
    total: usize,
    start: Instant,
    tty: bool,
}

impl Progress {
    pub(crate) fn new(total: usize) -> Self {
        Progress {
            total,
            start: Instant::now(),
            tty: std::io::stderr().is_terminal(),
        }
    }

    pub(crate) fn show(&mut self, done: usize, total: usize) {
        self.total = total;
        if !self.tty {
            return;
        }
        let width = 40;
        let filled = done * width / self.total.max(1);
        let rate = done as f64 / self.start.elapsed().as_secs_f64().max(1e-9);
        let mut err = std::io::stderr();
        let _ = write!(
            err,
            "\r[{}{}] {done}/{} steps, {rate:.0} steps/s ",
            "#".repeat(filled),
            " ".repeat(width - filled),
            self.total
        );
        let _ = err.flush();
    }

    pub(crate) fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}
