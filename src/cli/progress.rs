//! The progress bar `ddpm sample` and `ddpm bpd` draw on stderr: steps done of the total, the
//! rate and the time left (indicatif). indicatif draws nothing when stderr is not a terminal,
//! so scripts and pipes see only the commands' own lines; `--quiet` hides it on a terminal too.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar of sampling steps on stderr.
pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar of `total` steps, drawn on stderr unless `quiet`.
    pub(crate) fn new(total: usize, quiet: bool) -> Self {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(total as u64), target);
        let style =
            ProgressStyle::with_template("[{bar:40}] {pos}/{len} steps, {per_sec}, {eta} left")
                .map_or_else(
                    |_| ProgressStyle::default_bar(),
                    |s| s.progress_chars("#> "),
                );
        bar.set_style(style);
        Progress { bar }
    }

    /// `done` of `total` steps (the total can grow: a split batch runs its chunks in turn).
    pub(crate) fn show(&mut self, done: usize, total: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
    }

    /// Leave the bar at its last state.
    pub(crate) fn finish(&self) {
        self.bar.finish();
    }
}
