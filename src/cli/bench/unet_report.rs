//! How `ddpm bench --model` prints its report: the table people read, and the JSON scripts read
//! (field names as keys).

use super::unet::UNetBenchReport;
use ddpm_wgpu::error::{Error, Result};
use std::fmt::Write;

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

impl UNetBenchReport {
    /// The human-readable table.
    pub fn table(&self) -> String {
        let (c, h, w) = self.sample;
        let mut s = format!(
            "adapter: {}, convs on {}, {} storage\nmodel: {} parameters, {} FLOP per {c}x{h}x{w} sample ({:.3} GFLOP), weights {:.1} MiB on the device\n",
            self.adapter,
            self.conv_kernel,
            self.precision,
            self.parameters,
            self.flops_per_sample,
            self.flops_per_sample as f64 / 1e9,
            mib(self.weight_bytes)
        );
        // The guidance columns only when a guided row was measured.
        let guided = self.forwards.iter().any(|f| f.guidance_scale.is_some());
        let head = |s: &mut String| {
            if guided {
                let _ = write!(s, " {:>6} {:>11}", "w", "x unguided");
            }
            s.push('\n');
        };
        let cells = |s: &mut String, w: Option<f64>, x: Option<f64>| {
            if guided {
                let (w, x) = match (w, x) {
                    (Some(w), Some(x)) => (format!("{w}"), format!("{x:.2}")),
                    _ => ("-".into(), "-".into()),
                };
                let _ = write!(s, " {w:>6} {x:>11}");
            }
            s.push('\n');
        };
        let _ = write!(
            s,
            "{:>6} {:>12} {:>9} {:>11} {:>10} {:>14} {:>10}",
            "batch", "ms/forward", "GFLOP/s", "forwards/s", "samples/s", "activ. MiB", "sub-batch"
        );
        head(&mut s);
        for f in &self.forwards {
            let _ = write!(
                s,
                "{:>6} {:>12.1} {:>9.2} {:>11.3} {:>10.2} {:>14.1} {:>10}",
                f.batch,
                f.seconds * 1e3,
                f.gflop_per_s,
                f.forwards_per_s,
                f.samples_per_s,
                mib(f.activation_bytes),
                f.sub_batch
            );
            cells(&mut s, f.guidance_scale, f.vs_unguided);
        }
        if !self.loops.is_empty() {
            let _ = write!(
                s,
                "\n{:<7} {:>6} {:>6} {:>10} {:>9} {:>10} {:>11}",
                "sampler", "batch", "steps", "seconds", "steps/s", "samples/s", "memory MiB"
            );
            head(&mut s);
            for l in &self.loops {
                let _ = write!(
                    s,
                    "{:<7} {:>6} {:>6} {:>10.2} {:>9.3} {:>10.4} {:>11.1}",
                    l.sampler,
                    l.batch,
                    l.steps,
                    l.seconds,
                    l.steps_per_s,
                    l.samples_per_s,
                    mib(l.denoiser_bytes)
                );
                cells(&mut s, l.guidance_scale, l.vs_unguided);
            }
        }
        if !self.profile.is_empty() {
            let total: f64 = self.profile.iter().map(|p| p.seconds).sum();
            let _ = writeln!(
                s,
                "\n{:<36} {:>6} {:>10} {:>7} {:>9}",
                "dispatch kind (one forward)", "count", "ms", "share", "GFLOP/s"
            );
            let mut rows = self.profile.clone();
            rows.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
            for p in &rows {
                let g = p.flops as f64 / p.seconds / 1e9;
                let _ = writeln!(
                    s,
                    "{:<36} {:>6} {:>10.1} {:>6.1}% {:>9}",
                    p.kind,
                    p.count,
                    p.seconds * 1e3,
                    100.0 * p.seconds / total,
                    if p.flops > 0 {
                        format!("{g:.2}")
                    } else {
                        "-".into()
                    }
                );
            }
        }
        for v in &self.variants {
            variants_table(&mut s, v);
        }
        s
    }

    /// The same figures as JSON: the field names are the keys (scripts read them).
    pub fn json(&self) -> Result<String> {
        let text = serde_json::to_string(self)
            .map_err(|e| Error::Unsupported(format!("bench report as JSON: {e}")))?;
        Ok(format!("{text}\n"))
    }
}

/// One batch's `--variants` rows: per conv shape each variant's ms and GFLOP/s (or why it was
/// not timed to the end) and the choice, then the tuned forward against the rule's.
fn variants_table(s: &mut String, v: &super::unet_variants::VariantsBatch) {
    let _ = writeln!(
        s,
        "\nconv variants at batch {} (tune {}): ms, GFLOP/s",
        v.batch, v.tune
    );
    for row in &v.layers {
        let _ = write!(s, "{:<28}", row.shape);
        for t in &row.variants {
            match (t.seconds, t.gflops) {
                (Some(sec), Some(g)) => {
                    let _ = write!(s, " {} {:.3} ms {:.2} |", t.variant, sec * 1e3, g);
                }
                _ => {
                    let _ = write!(s, " {} - |", t.variant);
                }
            }
        }
        let _ = writeln!(s, " chosen {} ({:?})", row.choice, row.source);
    }
    let _ = writeln!(
        s,
        "forward at batch {}: fixed rule {:.2} ms, tuned {:.2} ms, tuned/rule {:.3}",
        v.batch,
        v.rule_seconds * 1e3,
        v.tuned_seconds * 1e3,
        v.tuned_over_rule
    );
}
