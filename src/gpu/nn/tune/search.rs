//! The search: for each distinct conv shape of a forward, the choice the mode asks for (the
//! rule, the cache, or each applicable variant timed on the plan's own buffers), remembered
//! in the tuner and written back to the cache.

use super::measure::{timed, untimed, Timer, TuneRow};
use super::{
    candidates, rule, Choices, ConvKey, Source, Tune, TuneCache, Tuner, AUTO_BUDGET_S, AUTO_PROBE,
};
use crate::error::Result;
use crate::gpu::nn::conv2d_tiled::ConvKernel;
use crate::gpu::nn::graph::{Graph, LayerOp, Places};
use crate::gpu::nn::plan::{self, Externals};
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::Context;
use std::collections::HashMap;
use std::time::Instant;

/// How one timing run goes.
#[derive(Clone, Copy, Debug)]
struct Search {
    /// Warm-up over 3x the best, or two losses by 2x, drop a challenger; a challenger must
    /// beat the best by 10%.
    bounded: bool,
    /// Timed trials per variant (the best kept).
    trials: usize,
}

impl Tuner {
    /// The kernel of every conv shape of `graph` at sub-batches of `sub` samples, by the mode
    /// (see [`Tune`]). `ext` are the buffers the forward will use: a timing runs the convs
    /// on them (the loop's model_output may be written; x_t only read), before the forward.
    pub(crate) fn choose(
        &self,
        ctx: &Context,
        graph: &Graph<'_>,
        sub: usize,
        ext: &Externals<'_>,
    ) -> Result<Choices> {
        let keys = conv_keys(graph);
        let (device, limits) = (ctx.adapter_info().device_type, ctx.limits());
        let mut made = self.made.lock().map(|m| m.clone()).unwrap_or_default();
        let mut choices = Choices::new();
        if let Some(forced) = self.forced {
            for key in keys.keys() {
                made.insert(*key, (forced, Source::Forced));
            }
            self.store(made, None);
            return Ok(choices);
        }
        let mut todo = Vec::new();
        let cache = self.cache.as_deref();
        let identity = super::cache::Identity::of(ctx.adapter_info());
        let mut file = match (self.mode, cache) {
            (Tune::Off, _) | (_, None) => None,
            (_, Some(dir)) => Some(TuneCache::load(dir, &identity)),
        };
        let ok = candidates(limits);
        for key in keys.keys() {
            let kept = made
                .get(key)
                .filter(|(_, s)| matches!(s, Source::Measured | Source::Cache));
            let cached = file
                .as_ref()
                .filter(|_| self.mode == Tune::Auto)
                .and_then(|f| f.choices.get(&key.cache_key()))
                .and_then(|name| ConvKernel::from_name(name).ok())
                .filter(|k| ok.contains(k));
            match (self.mode, kept, cached) {
                (Tune::Off, ..) => {
                    made.insert(*key, (rule(device, limits, key), Source::Rule));
                }
                (_, Some(_), _) => {}
                (_, None, Some(k)) => {
                    made.insert(*key, (k, Source::Cache));
                }
                _ => todo.push(*key),
            }
        }
        let mut rows = Vec::new();
        if !todo.is_empty() {
            let search = Search {
                bounded: self.mode == Tune::Auto,
                trials: if self.mode == Tune::Auto { 3 } else { 7 },
            };
            let probe = if search.bounded {
                sub.min(AUTO_PROBE)
            } else {
                sub
            };
            todo.sort_by_key(|k| std::cmp::Reverse(k.macs()));
            // The trial plan compiles the forward's own pipelines, which it needs anyway:
            // the budget counts from after it.
            let trial = plan::build(ctx, graph, (sub, sub), ext, &[])?;
            let start = Instant::now();
            let at = plan::placement(graph, &trial, ext, probe);
            let mut bench = Bench::new(ctx, &at, search, &ok)?;
            if search.bounded {
                bench.deadline = Some(start + std::time::Duration::from_secs_f64(AUTO_BUDGET_S));
            }
            for key in todo {
                let incumbent = rule(device, limits, &key);
                if bench.deadline.is_some_and(|d| Instant::now() > d) {
                    made.insert(key, (incumbent, Source::Rule));
                    continue;
                }
                let op = graph.ops[keys[&key]].as_ref();
                let (choice, row, complete) = bench.time_key(op, key, incumbent)?;
                // A shape the budget cut short keeps the rule's kernel until a later run
                // times it to the end.
                let made_by = if complete {
                    (choice, Source::Measured)
                } else {
                    (incumbent, Source::Rule)
                };
                made.insert(key, made_by);
                rows.push(row);
            }
            if let (Some(f), Some(dir)) = (file.as_mut(), cache) {
                for (key, (k, s)) in &made {
                    if matches!(s, Source::Measured | Source::Cache) {
                        f.choices.insert(key.cache_key(), k.name().to_string());
                    }
                }
                // A cache that cannot be written costs the next run a search, nothing else.
                let _ = f.save(dir);
            }
        }
        for key in keys.keys() {
            if let Some((k, _)) = made.get(key) {
                choices.insert(*key, *k);
            }
        }
        self.store(made, (!rows.is_empty()).then_some(rows));
        Ok(choices)
    }

    /// Every applicable variant of every conv shape of `graph` timed at `sub` samples (as
    /// `full` times them, nothing cached), each row's choice the one this tuner made (call
    /// [`Tuner::choose`] first): `ddpm bench --variants`.
    pub(crate) fn time_all(
        &self,
        ctx: &Context,
        graph: &Graph<'_>,
        sub: usize,
        ext: &Externals<'_>,
    ) -> Result<Vec<TuneRow>> {
        let keys = conv_keys(graph);
        let mut sorted: Vec<ConvKey> = keys.keys().copied().collect();
        sorted.sort_by_key(|k| std::cmp::Reverse(k.macs()));
        let trial = plan::build(ctx, graph, (sub, sub), ext, &[])?;
        let at = plan::placement(graph, &trial, ext, sub);
        let ok = candidates(ctx.limits());
        let search = Search {
            bounded: false,
            trials: 7,
        };
        let mut bench = Bench::new(ctx, &at, search, &ok)?;
        let made = self.made.lock().map(|m| m.clone()).unwrap_or_default();
        let device = ctx.adapter_info().device_type;
        let mut rows = Vec::new();
        for key in sorted {
            let incumbent = rule(device, ctx.limits(), &key);
            let (_, mut row, _) = bench.time_key(graph.ops[keys[&key]].as_ref(), key, incumbent)?;
            let (choice, source) = made.get(&key).copied().unwrap_or((incumbent, Source::Rule));
            row.choice = choice.name().to_string();
            row.source = source;
            rows.push(row);
        }
        Ok(rows)
    }

    fn store(&self, made: HashMap<ConvKey, (ConvKernel, Source)>, rows: Option<Vec<TuneRow>>) {
        if let Ok(mut m) = self.made.lock() {
            *m = made;
        }
        if let (Some(rows), Ok(mut r)) = (rows, self.rows.lock()) {
            *r = rows;
        }
    }
}

/// Each distinct conv shape of `graph` and the first op of it.
fn conv_keys(graph: &Graph<'_>) -> HashMap<ConvKey, usize> {
    let mut keys = HashMap::new();
    for (i, op) in graph.ops.iter().enumerate() {
        if let Some(key) = op.conv_key() {
            keys.entry(key).or_insert(i);
        }
    }
    keys
}

/// Timing the variants of one shape after another on one placement.
struct Bench<'a> {
    ctx: &'a Context,
    at: &'a dyn Places,
    timer: Timer,
    search: Search,
    ok: &'a [ConvKernel],
    /// Times each variant lost by over 2x (bounded searches drop it at two).
    losses: HashMap<ConvKernel, usize>,
    /// When a bounded search stops timing challengers.
    deadline: Option<Instant>,
}

impl<'a> Bench<'a> {
    fn new(
        ctx: &'a Context,
        at: &'a dyn Places,
        search: Search,
        ok: &'a [ConvKernel],
    ) -> Result<Self> {
        Ok(Bench {
            ctx,
            at,
            timer: Timer::new(ctx)?,
            search,
            ok,
            losses: HashMap::new(),
            deadline: None,
        })
    }

    /// Time `op`'s variants, `incumbent` first: the fastest (see [`Search`]), the row, and
    /// whether every variant was decided (not cut short by the deadline).
    fn time_key(
        &mut self,
        op: &dyn LayerOp,
        key: ConvKey,
        incumbent: ConvKernel,
    ) -> Result<(ConvKernel, TuneRow, bool)> {
        let (ctx, bounded) = (self.ctx, self.search.bounded);
        let order = std::iter::once(incumbent)
            .chain(self.ok.iter().copied().filter(|k| *k != incumbent))
            .collect::<Vec<_>>();
        let mut row = TuneRow {
            shape: key.to_string(),
            key: key.cache_key(),
            samples: self.at.samples().1,
            clock: self.timer.clock(),
            variants: Vec::new(),
            choice: incumbent.name().to_string(),
            source: Source::Measured,
        };
        let mut best: Option<(ConvKernel, f64)> = None;
        let mut complete = true;
        for k in order {
            if best.is_some() && self.deadline.is_some_and(|d| Instant::now() > d) {
                row.variants.push(untimed(
                    k.name(),
                    "not timed: the auto budget ran out".into(),
                ));
                complete = false;
                continue;
            }
            let lost = self.losses.get(&k).copied().unwrap_or(0);
            if bounded && lost >= 2 {
                let note = "dropped: lost by over 2x on two larger shapes";
                row.variants.push(untimed(k.name(), note.into()));
                continue;
            }
            // A variant that cannot run this conv (a grid past the device's limits, say) is
            // passed over, never the reason a forward fails.
            let stage = match op.stage_on(ctx, self.at, k) {
                Ok(stage) => stage,
                Err(e) => {
                    row.variants
                        .push(untimed(k.name(), format!("cannot run: {e}")));
                    continue;
                }
            };
            if (stage.kernel == Kernel::Conv2dTiled) != matches!(k, ConvKernel::Tiled(_)) {
                let note = "does not run this conv's options";
                row.variants.push(untimed(k.name(), note.into()));
                continue;
            }
            let warm = self.timer.time(ctx, &stage, 1)?;
            if let Some((_, b)) = best.filter(|&(_, b)| bounded && warm > 3.0 * b) {
                *self.losses.entry(k).or_default() += 1;
                let note = format!(
                    "dropped: warm-up {:.3} ms against the best {:.3} ms",
                    warm * 1e3,
                    b * 1e3
                );
                row.variants.push(untimed(k.name(), note));
                continue;
            }
            // Trials of about a millisecond at least where one dispatch is shorter.
            let reps = ((1e-3 / warm.max(1e-7)).ceil() as usize).clamp(1, 64);
            let mut t = f64::INFINITY;
            for _ in 0..self.search.trials {
                t = t.min(self.timer.time(ctx, &stage, reps)?);
            }
            row.variants.push(timed(k.name(), t, stage.flops));
            let margin = if bounded { 0.9 } else { 1.0 };
            best = match best {
                None => Some((k, t)),
                Some((_, b)) if bounded && t > 2.0 * b => {
                    *self.losses.entry(k).or_default() += 1;
                    best
                }
                Some((_, b)) if t < margin * b => Some((k, t)),
                keep => keep,
            };
        }
        let choice = best.map_or(incumbent, |b| b.0);
        row.choice = choice.name().to_string();
        Ok((choice, row, complete))
    }
}
