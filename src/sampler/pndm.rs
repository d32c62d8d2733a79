//! PNDM (Liu et al. 2022, pseudo numerical methods) as diffusers' `PNDMScheduler` computes it:
//! every step is its `_get_prev_sample`, the DDIM map from (sample, timestep) to the previous
//! timestep with a combination of model outputs standing in for eps:
//! x' = sqrt(abar_p / abar_a) x - (abar_p - abar_a) E / (abar_a sqrt(1 - abar_p) +
//! sqrt(abar_a (1 - abar_a) abar_p)), E = sqrt(abar_a) V + sqrt(1 - abar_a) x for a v model.
//! - PLMS (`skip_prk_steps`): the Adams-Bashforth combinations of the last 1 to 4 outputs; its
//!   second step calls the model again at the first step's target timestep and restarts the
//!   first step from its sample with the mean of the two outputs (N + 1 evaluations).
//! - Runge-Kutta warm-up (`skip_prk_steps` false, the class's default): the first three steps
//!   take four evaluations each (at t, t - T // N // 2 twice, and the next timestep), from the
//!   step's sample, ending with (e0 + 2 e1 + 2 e2 + e3) / 6; then PLMS (N + 9 evaluations).
//!
//! The timesteps of each step are diffusers' arithmetic (t - T // N, t - T // N // 2), not the
//! spacing's next one, as in diffusers. Rows of the multistep kernel, one per visit: the ring
//! holds the raw model outputs (`History::Output`, so v outputs combine before they turn into
//! eps, as in diffusers), and `last` the step's sample where a later visit restarts from it.

use super::multistep_abar;
use super::visit_rows::{check_model, visit_sampler, VisitRows};
use crate::chain::Chain;
use crate::cpu::kernels::multistep_step::{History, MultistepRow};
use crate::error::{Error, Result};
use crate::options::{MeanType, ModelOptions};

/// PNDM's options, with diffusers' defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PndmOptions {
    /// `skip_prk_steps`: PLMS from the first step (false: the Runge-Kutta warm-up first).
    pub skip_prk_steps: bool,
    /// `set_alpha_to_one`: the last step goes to abar = 1 (false: to abar_0).
    pub set_alpha_to_one: bool,
}

/// Which sample a visit's step starts from.
#[derive(Clone, Copy, PartialEq)]
enum From {
    /// The current x.
    Current,
    /// The current x, kept in `last` for later visits of the same step.
    Keep,
    /// The sample kept in `last`.
    Kept,
}

/// One visit as diffusers' counter logic makes it: the model's timestep, the step's
/// (timestep, previous timestep), its sample, and the ring: m0's slot and the combination
/// (slot, weight) of outputs, m0's first.
struct Plan {
    t: usize,
    from_t: usize,
    to_t: i64,
    sample: From,
    slots: Vec<(usize, f64)>,
}

/// diffusers' visits for the N timesteps `steps` (descending) of T: (timesteps, plans).
fn plans(steps: &[usize], big_t: usize, o: &PndmOptions) -> Result<Vec<Plan>> {
    let n = steps.len();
    let asc: Vec<usize> = steps.iter().rev().copied().collect();
    let (r, h) = (big_t / n, big_t / n / 2);
    let (prk, plms): (Vec<usize>, Vec<usize>) = if o.skip_prk_steps {
        let mut plms = asc[..n - 1].to_vec();
        plms.extend(asc.get(n.wrapping_sub(2)..n - 1).unwrap_or(&[]));
        plms.push(asc[n - 1]);
        plms.reverse();
        (Vec::new(), plms)
    } else {
        if n < 4 {
            return Err(Error::Unsupported(format!(
                "PNDM's Runge-Kutta warm-up takes 4 timesteps or more, got {n} (diffusers \
                 fails there): use skip_prk_steps"
            )));
        }
        let pairs: Vec<usize> = asc[n - 4..].iter().flat_map(|&t| [t, t + h]).collect();
        let doubled: Vec<usize> = pairs[..7].iter().flat_map(|&t| [t, t]).collect();
        let mut prk = doubled[1..13].to_vec();
        prk.reverse();
        (prk, asc[..n - 3].iter().rev().copied().collect())
    };
    let mut out = Vec::with_capacity(prk.len() + plms.len());
    let (mut appended, mut ets_len, mut stage0_slot) = (0usize, 0usize, 0usize);
    let ets_slot = |q: usize| q % 4;
    for (counter, &t) in prk.iter().chain(&plms).enumerate() {
        if counter < prk.len() {
            let to_t = t as i64 - if counter % 2 == 1 { 0 } else { h as i64 };
            let from_t = prk[counter / 4 * 4];
            let (sample, slots) = match counter % 4 {
                0 => {
                    stage0_slot = ets_slot(appended);
                    appended += 1;
                    ets_len = ets_len.min(3) + 1;
                    (From::Keep, vec![(stage0_slot, 1.0)])
                }
                1 => (From::Kept, vec![(4, 1.0)]),
                2 => (From::Kept, vec![(5, 1.0)]),
                _ => (
                    From::Kept,
                    vec![
                        (6, 1.0 / 6.0),
                        (5, 1.0 / 3.0),
                        (4, 1.0 / 3.0),
                        (stage0_slot, 1.0 / 6.0),
                    ],
                ),
            };
            out.push(Plan {
                t,
                from_t,
                to_t,
                sample,
                slots,
            });
            continue;
        }
        let (mut from_t, mut to_t) = (t, t as i64 - r as i64);
        let q = appended;
        let plan = if counter == 1 {
            from_t = t + r;
            to_t = t as i64;
            (From::Kept, vec![(4, 0.5), (ets_slot(q - 1), 0.5)])
        } else {
            appended += 1;
            ets_len = ets_len.min(3) + 1;
            let back = |j: usize, w: f64| (ets_slot(q - j), w);
            match ets_len {
                1 => (From::Keep, vec![back(0, 1.0)]),
                2 => (From::Current, vec![back(0, 1.5), back(1, -0.5)]),
                3 => (
                    From::Current,
                    vec![
                        back(0, 23.0 / 12.0),
                        back(1, -16.0 / 12.0),
                        back(2, 5.0 / 12.0),
                    ],
                ),
                _ => (
                    From::Current,
                    vec![
                        back(0, 55.0 / 24.0),
                        back(1, -59.0 / 24.0),
                        back(2, 37.0 / 24.0),
                        back(3, -9.0 / 24.0),
                    ],
                ),
            }
        };
        if from_t >= big_t {
            return Err(Error::Unsupported(format!(
                "PNDM's second step reads abar at timestep {from_t}, past T = {big_t} \
                 (diffusers fails there)"
            )));
        }
        out.push(Plan {
            t,
            from_t,
            to_t,
            sample: plan.0,
            slots: plan.1,
        });
    }
    Ok(out)
}

/// The visits and rows of PNDM on `chain`'s N timesteps (see the module doc).
pub fn pndm_rows(
    chain: &Chain,
    model: &ModelOptions,
    o: &PndmOptions,
) -> Result<(Vec<usize>, Vec<MultistepRow>)> {
    let train = &chain.train.alphas_cumprod;
    let read = multistep_abar(train);
    let steps: Vec<usize> = chain.steps.iter().rev().copied().collect();
    let plans = plans(&steps, chain.num_train_timesteps(), o)?;
    let ring = if o.skip_prk_steps { 5 } else { 7 };
    let final_abar = if o.set_alpha_to_one { 1.0 } else { train[0] };
    let v = model.mean_type == MeanType::V;
    let order: Vec<usize> = plans.iter().map(|p| p.t).collect();
    let rows = plans
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let a = train[p.from_t];
            let ap = usize::try_from(p.to_t).map_or(final_abar, |t| train[t]);
            let denom = a * (1.0 - ap).sqrt() + (a * (1.0 - a) * ap).sqrt();
            let k2 = (ap - a) / denom;
            // E = q2 V + q1 x for a v model (E itself for eps): x' = A x + B sum w_j m_j.
            let (q1, q2) = if v {
                ((1.0 - a).sqrt(), a.sqrt())
            } else {
                (0.0, 1.0)
            };
            let (big_a, big_b) = ((ap / a).sqrt() - k2 * q1, -k2 * q2);
            let mut slots = [p.slots[0].0; 4];
            let mut update = [big_a, 0.0, 0.0, 0.0, 0.0, 0.0];
            for (j, &(slot, w)) in p.slots.iter().enumerate() {
                slots[j] = slot;
                update[1 + j] = big_b * w;
            }
            MultistepRow {
                abar: read[p.t],
                history: History::Output,
                correct: match p.sample {
                    From::Current => None,
                    From::Keep => Some([1.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
                    From::Kept => Some([0.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
                },
                update,
                slots,
                ring,
                next_t: order.get(k + 1).copied().unwrap_or(p.t),
            }
        })
        .collect();
    Ok((order, rows))
}

/// The PNDM sampler (see the module doc).
#[derive(Clone, Debug)]
pub struct Pndm {
    rows: VisitRows,
}

impl Pndm {
    /// PNDM on `chain`'s timesteps (diffusers' `set_timesteps(N)` of the spacing), reading the
    /// model's output as eps or v (diffusers' class has no other), without clipping.
    pub fn new(chain: Chain, model: ModelOptions, opts: PndmOptions) -> Result<Self> {
        check_model("PNDM", &model, &[MeanType::Eps, MeanType::V], false)?;
        let visits = pndm_rows(&chain, &model, &opts)?;
        Ok(Pndm {
            rows: VisitRows::new("pndm", &chain, model, visits, 1.0)?,
        })
    }

    /// The f64 row of visit k.
    pub fn row(&self, k: usize) -> Option<&MultistepRow> {
        self.rows.rows.get(k)
    }
}

visit_sampler!(Pndm);
