//! `ddpm bench`'s table and JSON.

use crate::bench::BenchReport;
use std::fmt::Write;

impl BenchReport {
    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut s = format!("adapter: {}\n", self.adapter);
        let _ = writeln!(
            s,
            "{:<26} {:>10} {:>12} {:>12} {:>9} {:>8}",
            "kernel", "elements", "time (us)", "Melem/s", "GB/s", "vs copy"
        );
        for k in &self.kernels {
            let _ = writeln!(
                s,
                "{:<26} {:>10} {:>12.1} {:>12.1} {:>9.2} {:>8.2}",
                k.kernel,
                k.elements,
                k.seconds * 1e6,
                k.elements as f64 / k.seconds / 1e6,
                k.gb_per_s,
                k.copy_ratio
            );
        }
        let _ = writeln!(
            s,
            "\n{:<18} {:<7} {:>9} {:>12} {:>16}",
            "accuracy (vs f64)", "storage", "elements", "max |err|", "max|err|/max|ref|"
        );
        for a in &self.accuracy {
            let _ = writeln!(
                s,
                "{:<18} {:<7} {:>9} {:>12.3e} {:>16.3e}",
                a.kernel, a.storage, a.elements, a.max_abs, a.max_rel_to_max
            );
        }
        if self.loops.is_empty() {
            return s;
        }
        let _ = writeln!(
            s,
            "\n{:<7} {:<9} {:<4} {:<18} {:>5} {:>9} {:>9} {:>10} {:>12} {:>9} {:>11}",
            "sampler",
            "denoiser",
            "dev",
            "shape",
            "T",
            "seconds",
            "steps/s",
            "samples/s",
            "step (us)",
            "overhead",
            "memory MiB"
        );
        for l in &self.loops {
            let gpu = l.device == "gpu";
            let or_dash = |v: String| if gpu { v } else { "-".into() };
            let _ = writeln!(
                s,
                "{:<7} {:<9} {:<4} {:<18} {:>5} {:>9.3} {:>9.1} {:>10.2} {:>12} {:>9} {:>11}",
                l.sampler,
                l.denoiser,
                l.device,
                format!("{:?}", l.shape),
                l.steps,
                l.seconds,
                l.steps as f64 / l.seconds,
                l.shape[0] as f64 / l.seconds,
                or_dash(format!("{:.1}", l.step_kernel_seconds * 1e6)),
                or_dash(format!("{:.3}", l.overhead_ratio)),
                or_dash(format!(
                    "{:.2}",
                    (l.loop_bytes + l.denoiser_bytes) as f64 / (1 << 20) as f64
                )),
            );
        }
        s.push_str(
            "T: steps taken; overhead: loop wall time / (T x one step's kernels); memory: the loop's buffers plus \
             the denoiser's, independent of T\n",
        );
        s
    }

    /// The same figures as JSON.
    pub fn json(&self) -> String {
        let kernels: Vec<String> = self
            .kernels
            .iter()
            .map(|k| {
                format!(
                    "{{\"kernel\":\"{}\",\"elements\":{},\"seconds\":{:e},\"bytes\":{},\"gb_per_s\":{:.4},\"copy_ratio\":{:.4}}}",
                    k.kernel, k.elements, k.seconds, k.bytes, k.gb_per_s, k.copy_ratio
                )
            })
            .collect();
        let loops: Vec<String> = self
            .loops
            .iter()
            .map(|l| {
                format!(
                    "{{\"sampler\":\"{}\",\"denoiser\":\"{}\",\"device\":\"{}\",\"shape\":{:?},\"steps\":{},\"seconds\":{:.6},\"steps_per_s\":{:.3},\"samples_per_s\":{:.4},\"step_kernel_seconds\":{:e},\"overhead_ratio\":{:.4},\"loop_bytes\":{},\"denoiser_bytes\":{}}}",
                    l.sampler,
                    l.denoiser,
                    l.device,
                    l.shape,
                    l.steps,
                    l.seconds,
                    l.steps as f64 / l.seconds,
                    l.shape[0] as f64 / l.seconds,
                    l.step_kernel_seconds,
                    l.overhead_ratio,
                    l.loop_bytes,
                    l.denoiser_bytes
                )
            })
            .collect();
        let accuracy: Vec<String> = self
            .accuracy
            .iter()
            .map(|a| {
                format!(
                    "{{\"kernel\":\"{}\",\"storage\":\"{}\",\"elements\":{},\"max_abs\":{:e},\"max_rel_to_max\":{:e}}}",
                    a.kernel, a.storage, a.elements, a.max_abs, a.max_rel_to_max
                )
            })
            .collect();
        format!(
            "{{\"adapter\":{:?},\"kernels\":[{}],\"accuracy\":[{}],\"loops\":[{}]}}\n",
            self.adapter,
            kernels.join(","),
            accuracy.join(","),
            loops.join(",")
        )
    }
}
