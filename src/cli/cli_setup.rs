//! Process set-up of the `ddpm` binary: the clap command with negative numbers allowed as
//! values, one-line usage errors, and the Vulkan layer that would print on stderr.

use clap::CommandFactory;

/// The CLI's command, with every option that takes a value accepting one that starts with '-'
/// when it is a number: clap otherwise takes `--seed -1` for an unknown flag `-1`, and the user
/// never hears the real reason (negative floats are checked by each command, negative counts
/// are refused by their unsigned parsers and reworded by [`one_line_usage_error`]).
pub(crate) fn command() -> clap::Command {
    let negatives = |a: clap::Arg| {
        if a.get_action().takes_values() {
            a.allow_negative_numbers(true)
        } else {
            a
        }
    };
    crate::Cli::command().mut_subcommands(move |s| s.mut_args(negatives))
}

/// clap's message as one line (it spans several: usage, hints), with a negative count's
/// reason said plainly: "--seed must be a non-negative integer, got -1".
pub(crate) fn one_line_usage_error(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let context = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        _ => None,
    };
    if e.kind() == ErrorKind::ValueValidation {
        let arg = context(ContextKind::InvalidArg).and_then(|a| a.split_whitespace().next());
        let value = context(ContextKind::InvalidValue);
        if let (Some(arg), Some(value)) = (arg, value) {
            if value.starts_with('-') && value[1..].parse::<f64>().is_ok() {
                return format!("{arg} must be a non-negative integer, got {value}");
            }
        }
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    first.trim_start_matches("error: ").to_string()
}

/// Turn off Mesa's Vulkan device-select layer unless the user steers it: with
/// `XDG_RUNTIME_DIR` unset it prints `error: XDG_RUNTIME_DIR is invalid or not set` on every
/// instance (it looks for a Wayland display to rank GPUs), and our own adapter ranking
/// (`Context::new`) does not use its order. Called first in `main`, before any thread exists,
/// which is when changing the environment is sound.
pub(crate) fn quiet_vulkan_layers() {
    let steered = ["NODEVICE_SELECT", "MESA_VK_DEVICE_SELECT", "DRI_PRIME"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if !steered {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
}
