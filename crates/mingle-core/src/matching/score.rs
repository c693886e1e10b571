//! Exact scores of a pair, and what they are computed from.
//!
//! For principal A and target B (every part in [0, 1]):
//! - `N(A→B)`, needs to offers: for each need of A, the answer probability of B's offer
//!   that answers it best; then half the best need plus half the mean over A's needs
//!   (one need fully met counts, and so does meeting several).
//! - `Cat(A,B)`: complementarity of the two goal categories, times the geometric mean
//!   of the goal head's probabilities for them.
//! - `I(A→B)`, intent strength: how far A's needs' answering by B stands out from A's
//!   usual (a z-score of the logit aggregate over a sample of others, squashed).
//! - `V(A,B)`, value alignment: shared interests, shared goal topic, both profiles' fit
//!   with the event's objectives.
//! - `G(A,B)`, general similarity: cosine of the two profiles' mean embeddings.
//!
//! `S(A→B) = w·(N, Cat, I, V, G)`; the directed score `score_a_to_b` blends `S` with
//! its standing among A's scores of others (`σ` of a z-score), times
//! `min(1, G/topic_cap)^topic_power` (topic multiplies the answering), and
//! `final_score` is the harmonic mean of the two directed scores: high only when both
//! sides gain.

use crate::goals::CATEGORIES;
use crate::parallel::map_indices as parallel;
use crate::vector::{dot, normalize, weighted_dot, Matrix};

use super::answer::{sigmoid, AnswerHead};
use super::policy::{category_compatibility, Policy};
use super::{round6, Direction, EventInput, GoalMatch, PairScore, Profile, RankedPair, Reason};

/// Others sampled per principal to estimate its score distribution.
const SAMPLE: usize = 100;

/// Principals whose pairs are scored together: about 20 MiB of their vectors, within
/// the last-level cache of the machine measured (32 MiB).
const GROUP: u32 = 2048;

/// A principal's score distribution over the sample.
#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    answer_mean: f32,
    answer_sd: f32,
    score_mean: f32,
    score_sd: f32,
}

/// The best answering of one direction: the need (of the side that needs), the offer
/// (of the other side) and its probability.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Best {
    need: u16,
    offer: u16,
    p: f32,
}

/// `N(A→B)`, the same aggregate over logits (what intent compares), and the single
/// best pairing behind them.
#[derive(Debug, Clone, Copy, Default)]
struct Answering {
    value: f32,
    logit: Option<f32>,
    best: Option<Best>,
}

/// Answer vectors of every need and offer projected on the head's basis (82 floats
/// instead of 418), and each profile's projected general vector: what candidate search
/// reads.
pub struct Reduced {
    needs: Matrix,
    offers: Matrix,
    general: Matrix,
    /// The head's mean diagonal weight: a projected need carries `B(w⊙n)`, and dividing
    /// by it reads the projected cosine for the topic gate.
    mean_diag: f32,
}

/// An event made ready for scoring.
pub struct Prepared<'a> {
    input: &'a EventInput,
    policy: &'a Policy,
    head: &'a AnswerHead,
    /// Answer vectors of every need and offer, profile by profile.
    needs: Matrix,
    offers: Matrix,
    /// `1 / wᵢ` of the answer head (the topic gate reads a need's embedding back).
    inverse_diag: Vec<f32>,
    /// Profile `i`'s needs are rows `need_at[i]..need_at[i + 1]` of `needs`.
    need_at: Vec<usize>,
    offer_at: Vec<usize>,
    /// Unit mean embedding of each profile (zero without texts).
    general: Matrix,
    /// Unit mean embedding of each profile's needs (zero without needs; no rows when
    /// the sameness penalty is off).
    need_means: Matrix,
    /// Each profile's fit with the objectives, when there are any.
    objective_fit: Option<Vec<f32>>,
    stats: Vec<Stats>,
    sampled: u64,
    threads: usize,
}

fn mean_sd(xs: &[f32]) -> (f32, f32) {
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let mean = xs.iter().sum::<f32>() / xs.len() as f32;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / xs.len() as f32;
    (mean, var.sqrt())
}

impl<'a> Prepared<'a> {
    pub fn new(input: &'a EventInput, policy: &'a Policy, head: &'a AnswerHead, threads: usize) -> Self {
        let texts = &input.texts;
        let (mut need_at, mut offer_at) = (vec![0], vec![0]);
        for (i, p) in input.profiles.iter().enumerate() {
            need_at.push(need_at[i] + p.needs.len());
            offer_at.push(offer_at[i] + p.offers.len());
        }
        let need_texts: Vec<u32> = input.profiles.iter().flat_map(|p| p.needs.iter().copied()).collect();
        let offer_texts: Vec<u32> = input.profiles.iter().flat_map(|p| p.offers.iter().copied()).collect();
        let width = head.width();
        let mut needs = Matrix::zeros(need_texts.len(), width);
        needs.fill_rows(threads, |i, row| {
            let t = need_texts[i];
            row.copy_from_slice(&head.need_vector(texts.text(t), texts.vector(t)));
        });
        let mut offers = Matrix::zeros(offer_texts.len(), width);
        offers.fill_rows(threads, |i, row| {
            let t = offer_texts[i];
            row.copy_from_slice(&head.offer_vector(texts.text(t), texts.vector(t)));
        });
        let general = Self::unit_means(input, input.profiles.len(), threads, |p| {
            p.goal.iter().chain(&p.needs).chain(&p.offers).copied().collect()
        });
        let with_sameness = if policy.sameness > 0.0 { input.profiles.len() } else { 0 };
        let need_means = Self::unit_means(input, with_sameness, threads, |p| p.needs.clone());
        // The offer bias `u·x_o` sits just before the trailing 1 of an offer vector.
        let offers = Self::without_hubs(&needs, offers, policy.hub, width - 2, threads);
        let objective_fit = input.objectives.map(|o| {
            let obj = texts.vector(o);
            (0..input.profiles.len()).map(|i| dot(general.row(i), obj).max(0.0)).collect()
        });
        let mut prepared = Self {
            input,
            policy,
            head,
            needs,
            inverse_diag: head.inverse_diag(),
            offers,
            need_at,
            offer_at,
            general,
            need_means,
            objective_fit,
            stats: Vec::new(),
            sampled: 0,
            threads,
        };
        prepared.estimate_stats(threads);
        prepared
    }

    /// The unit mean embedding of some of each profile's texts, for the first `rows`
    /// profiles (zero when a profile has none).
    fn unit_means(
        input: &EventInput,
        rows: usize,
        threads: usize,
        texts_of: impl Fn(&Profile) -> Vec<u32> + Sync,
    ) -> Matrix {
        let mut out = Matrix::zeros(rows, input.texts.dimension);
        out.fill_rows(threads, |i, m| {
            for t in texts_of(&input.profiles[i]) {
                m.iter_mut().zip(input.texts.vector(t)).for_each(|(a, b)| *a += b);
            }
            normalize(m);
        });
        out
    }

    /// Takes "hub" offers down: each offer's logits lose `hub` times its mean logit
    /// against a fixed sample of the event's needs (evenly spaced), so an offer that
    /// seems to answer every need (vague, or about everything) stops outranking the
    /// ones that answer a need in particular (CSLS-style local scaling). Folded into the
    /// offer's bias element (`bias_at`), so candidate search sees it too.
    fn without_hubs(needs: &Matrix, mut offers: Matrix, hub: f32, bias_at: usize, threads: usize) -> Matrix {
        if hub == 0.0 || needs.rows == 0 {
            return offers;
        }
        let m = SAMPLE.min(needs.rows);
        let sample: Vec<usize> = (0..m).map(|k| k * needs.rows / m).collect();
        offers.fill_rows(threads, |_, offer| {
            let mean = sample.iter().map(|&n| dot(needs.row(n), offer)).sum::<f32>() / m as f32;
            offer[bias_at] -= hub * mean;
        });
        offers
    }

    /// Ordered pairs scored for the distributions.
    pub fn sampled(&self) -> u64 {
        self.sampled
    }

    fn n(&self) -> usize {
        self.input.profiles.len()
    }

    /// Each principal's distribution of `N` and `S` over a fixed sample of others:
    /// evenly spaced profiles (by ID order), so the estimate is deterministic.
    fn estimate_stats(&mut self, threads: usize) {
        let n = self.n();
        let m = SAMPLE.min(n - 1);
        let sample: Vec<usize> = (0..m).map(|k| k * n / m).collect();
        let this = &*self;
        let stats = parallel(n, threads, |a| {
            let others: Vec<usize> = sample.iter().map(|&s| if s == a { (s + 1) % n } else { s }).collect();
            let answers: Vec<Answering> = others.iter().map(|&b| this.answering(a, b)).collect();
            let logits: Vec<f32> = answers.iter().filter_map(|x| x.logit).collect();
            let (answer_mean, answer_sd) = mean_sd(&logits);
            let partial = Stats { answer_mean, answer_sd, ..Stats::default() };
            let scores: Vec<f32> =
                others.iter().zip(&answers).map(|(&b, ans)| this.raw(ans, this.symmetric(a, b), &partial)).collect();
            let (score_mean, score_sd) = mean_sd(&scores);
            Stats { answer_mean, answer_sd, score_mean, score_sd }
        });
        self.sampled = (n * m) as u64;
        self.stats = stats;
    }

    /// The offer among `offers` (rows of `self.offers`) that answers need row `need`
    /// best, as its index within `offers`, and its logit less the topic gate; ties go to
    /// the first.
    #[inline]
    fn best_offer(&self, need: usize, offers: std::ops::Range<usize>) -> (usize, f32) {
        let nv = self.needs.row(need);
        let (mut top, mut top_j) = (f32::NEG_INFINITY, 0);
        for (oj, offer) in offers.enumerate() {
            let ov = self.offers.row(offer);
            let mut z = dot(nv, ov);
            // The gate only lowers a logit, so one already below the best cannot win.
            if z <= top && self.policy.topic_gate >= 0.0 {
                continue;
            }
            if self.policy.topic_gate != 0.0 {
                // A need's answer vector starts with `w⊙n` and an offer's with its unit
                // embedding `o`, so the cosine `n·o` is `Σ (w⊙n)ᵢ oᵢ / wᵢ`, over rows
                // already in the cache.
                let k = self.inverse_diag.len();
                let cosine = weighted_dot(&nv[..k], &ov[..k], &self.inverse_diag);
                z -= self.policy.topic_gate * (self.policy.topic_floor - cosine).max(0.0);
            }
            if z > top {
                (top, top_j) = (z, oj);
            }
        }
        (top_j, top)
    }

    /// Rows of A's needs and of B's offers; no needs when B offers nothing (nothing
    /// answers them, and `N(A→B)` is then 0).
    fn pairings(&self, a: usize, b: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let offers = self.offer_at[b]..self.offer_at[b + 1];
        let needs = if offers.is_empty() { 0..0 } else { self.need_at[a]..self.need_at[a + 1] };
        (needs, offers)
    }

    /// Each need of A (by its index among A's needs) with the offer of B that answers it
    /// best and that pairing's logit; none when B offers nothing.
    fn best_per_need(&self, a: usize, b: usize) -> impl Iterator<Item = (usize, usize, f32)> + '_ {
        let (needs, offers) = self.pairings(a, b);
        needs.enumerate().map(move |(ni, need)| {
            let (oj, z) = self.best_offer(need, offers.clone());
            (ni, oj, z)
        })
    }

    /// `N(A→B)` and its logit aggregate from each need's best pairing, in need order.
    fn aggregate(per_need: impl Iterator<Item = (usize, usize, f32)>) -> Answering {
        let (mut sum, mut best, mut count): (f32, Option<Best>, usize) = (0.0, None, 0);
        let (mut logit_sum, mut logit_max) = (0.0f32, f32::NEG_INFINITY);
        for (ni, oj, top) in per_need {
            let p = sigmoid(top);
            sum += p;
            logit_sum += top;
            logit_max = logit_max.max(top);
            count += 1;
            if best.is_none_or(|b| p > b.p) {
                best = Some(Best { need: ni as u16, offer: oj as u16, p });
            }
        }
        if count == 0 {
            return Answering::default();
        }
        let max = best.map_or(0.0, |b| b.p);
        let count = count as f32;
        Answering { value: 0.5 * max + 0.5 * sum / count, logit: Some(0.5 * logit_max + 0.5 * logit_sum / count), best }
    }

    /// `N(A→B)`: A's needs answered by B's offers.
    fn answering(&self, a: usize, b: usize) -> Answering {
        Self::aggregate(self.best_per_need(a, b))
    }

    fn category(&self, a: usize, b: usize) -> f32 {
        match (self.input.profiles[a].category, self.input.profiles[b].category) {
            (Some((ca, pa)), Some((cb, pb))) => category_compatibility(ca, cb) * (pa * pb).sqrt(),
            _ => 0.0,
        }
    }

    fn general(&self, a: usize, b: usize) -> f32 {
        dot(self.general.row(a), self.general.row(b)).clamp(0.0, 1.0)
    }

    /// Mean over `xs` of the best cosine with any of `ys`, both ways, averaged.
    fn soft_overlap(&self, xs: &[u32], ys: &[u32]) -> f32 {
        let t = &self.input.texts;
        let one_way = |xs: &[u32], ys: &[u32]| {
            xs.iter().map(|&x| ys.iter().map(|&y| dot(t.vector(x), t.vector(y))).fold(-1.0f32, f32::max)).sum::<f32>()
                / xs.len() as f32
        };
        (0.5 * (one_way(xs, ys) + one_way(ys, xs))).clamp(0.0, 1.0)
    }

    fn value(&self, a: usize, b: usize) -> f32 {
        let (pa, pb) = (&self.input.profiles[a], &self.input.profiles[b]);
        let w = self.policy.value_parts;
        let (mut total, mut weight) = (0.0, 0.0);
        if !pa.interests.is_empty() && !pb.interests.is_empty() {
            total += w[0] * self.soft_overlap(&pa.interests, &pb.interests);
            weight += w[0];
        }
        if let (Some(ga), Some(gb)) = (pa.goal, pb.goal) {
            let t = &self.input.texts;
            total += w[1] * dot(t.vector(ga), t.vector(gb)).clamp(0.0, 1.0);
            weight += w[1];
        }
        if let Some(fit) = &self.objective_fit {
            total += w[2] * 0.5 * (fit[a] + fit[b]);
            weight += w[2];
        }
        if weight > 0.0 {
            total / weight
        } else {
            0.0
        }
    }

    /// How far A's needs' answering by B stands out from A's usual: σ of the z-score of
    /// the logit aggregate. Logits, not probabilities: an indirect answer the head is
    /// unsure of (p 0.1) can still be far better than what anyone else offers (p 0.001).
    fn intent(&self, answer: &Answering, stats: &Stats) -> f32 {
        match answer.logit {
            Some(l) => sigmoid((l - stats.answer_mean) / stats.answer_sd.max(0.1)),
            None => 0.0,
        }
    }

    /// The weighted parts of `S` that are the same both ways: category, value, general.
    fn symmetric(&self, a: usize, b: usize) -> f32 {
        self.weigh(self.category(a, b), self.value(a, b), self.general(a, b))
    }

    fn weigh(&self, category: f32, value: f32, general: f32) -> f32 {
        let p = self.policy;
        p.category * category + p.value * value + p.general * general
    }

    /// `S(A→B)` given A's needs' answering by B and the pair's symmetric part.
    fn raw(&self, answer: &Answering, symmetric: f32, stats: &Stats) -> f32 {
        self.policy.answer * answer.value + self.policy.intent * self.intent(answer, stats) + symmetric
    }

    /// The directed score from `S`, before the pair's factors: absolute and relative to
    /// the principal's others.
    fn directed(&self, a: usize, raw: f32) -> f32 {
        let s = &self.stats[a];
        let relative = sigmoid((raw - s.score_mean) / s.score_sd.max(0.02));
        (1.0 - self.policy.relative) * raw + self.policy.relative * relative
    }

    /// `min(1, G / topic_cap)^topic_power`. A product, not a sum: an offer of the right
    /// kind from another field (money for a founder, from a property fund) answers well
    /// on its own, and only the two profiles' closeness says it is off topic. Closeness
    /// up to what complementary partners show counts as shared topic; beyond it, it is
    /// sameness (two founders with one pitch), which the factor must not reward.
    fn topic_factor(&self, general: f32) -> f32 {
        let p = self.policy;
        // A negative power would send G = 0 to infinity.
        (general / p.topic_cap.max(1e-3)).clamp(0.0, 1.0).powf(p.topic_power.max(0.0))
    }

    /// `1 − sameness · max(0, cos(needs_A, needs_B) − sameness_floor)`, the cosine taken
    /// between the two profiles' mean need embeddings: two attendees who need the same
    /// thing are peers (two founders raising for one idea), rarely each other's answer.
    fn sameness_factor(&self, a: usize, b: usize) -> f32 {
        let p = self.policy;
        if p.sameness <= 0.0 {
            return 1.0;
        }
        let alike = dot(self.need_means.row(a), self.need_means.row(b));
        (1.0 - p.sameness * (alike - p.sameness_floor).max(0.0)).max(0.0)
    }

    /// Both directed scores of (A, B) from both answerings, the pair's category and
    /// value parts and its general similarity: what every path to `final_score` shares.
    /// The topic and sameness factors belong to the pair, so both directions take them.
    fn both_directions(
        &self,
        pair: (usize, usize),
        answers: (&Answering, &Answering),
        parts: (f32, f32, f32),
    ) -> (f32, f32) {
        let ((a, b), (ab, ba), (category, value, general)) = (pair, answers, parts);
        let sym = self.weigh(category, value, general);
        let pair_factor = self.topic_factor(general) * self.sameness_factor(a, b);
        (
            pair_factor * self.directed(a, self.raw(ab, sym, &self.stats[a])),
            pair_factor * self.directed(b, self.raw(ba, sym, &self.stats[b])),
        )
    }

    fn harmonic(x: f32, y: f32) -> f32 {
        if x + y > 0.0 {
            2.0 * x * y / (x + y)
        } else {
            0.0
        }
    }

    /// `final_score` of (A, B) alone, for ranking (what [`Prepared::rank`] orders by,
    /// before rounding).
    pub fn final_score(&self, a: usize, b: usize) -> f32 {
        let (ab, ba) = (self.answering(a, b), self.answering(b, a));
        let parts = (self.category(a, b), self.value(a, b), self.general(a, b));
        let (sab, sba) = self.both_directions((a, b), (&ab, &ba), parts);
        Self::harmonic(sab, sba)
    }

    /// Every score of (A, B), seen from A.
    pub fn pair_score(&self, a: usize, b: usize) -> PairScore {
        // Each part once: the answering both ways (which the reasons quote too) and the
        // symmetric parts.
        let (ab_needs, ba_needs): (Vec<_>, Vec<_>) =
            (self.best_per_need(a, b).collect(), self.best_per_need(b, a).collect());
        let (ab, ba) = (Self::aggregate(ab_needs.iter().copied()), Self::aggregate(ba_needs.iter().copied()));
        let (category, value, general) = (self.category(a, b), self.value(a, b), self.general(a, b));
        let (sab, sba) = self.both_directions((a, b), (&ab, &ba), (category, value, general));
        let final_score = Self::harmonic(sab, sba);
        let complementarity = 0.8 * (ab.value * ba.value).sqrt() + 0.2 * category;

        // Ties between the two directions go to the pairing whose needing side has the
        // smaller ID, so that (A, B) and (B, A) pick the same one.
        let a_first = a < b;
        let prefer = |x: Direction| (x == Direction::NeedsToOffers) == a_first;
        let wins = |x: (f32, Direction), y: (f32, Direction)| x.0 > y.0 || (x.0 == y.0 && prefer(x.1));
        let pick = |x: Option<Best>, dir: Direction| x.map(|b| (b.p, dir));
        let options = [pick(ab.best, Direction::NeedsToOffers), pick(ba.best, Direction::OffersToNeeds)];
        let best = options.into_iter().flatten().fold(None, |acc: Option<(f32, Direction)>, x| match acc {
            Some(y) if !wins(x, y) => Some(y),
            _ => Some(x),
        });
        // The pairing that moved final_score most: its probability times the weight of
        // its direction in the harmonic mean (∂final/∂s_ab = 2·s_ba² / (s_ab + s_ba)²).
        let sum = (sab + sba).max(1e-9);
        let weight = |d: Direction| if d == Direction::NeedsToOffers { 2.0 * sba * sba } else { 2.0 * sab * sab };
        let driving = options.into_iter().flatten().map(|(p, d)| (p * weight(d) / (sum * sum), p, d)).fold(
            None,
            |acc: Option<(f32, f32, Direction)>, x| match acc {
                Some(y) if !wins((x.0, x.2), (y.0, y.2)) => Some(y),
                _ => Some(x),
            },
        );
        let none = GoalMatch { score: 0.0, direction: Direction::NeedsToOffers };

        let mut reasons: Vec<Reason> = ab_needs
            .iter()
            .map(|x| (x, Direction::NeedsToOffers))
            .chain(ba_needs.iter().map(|x| (x, Direction::OffersToNeeds)))
            .map(|(&(need, offer, z), direction)| (need, offer, sigmoid(z), direction))
            .filter(|&(_, _, p, _)| p >= self.policy.reason_floor)
            .map(|(need, offer, p, direction)| Reason {
                direction,
                need: need as u16,
                offer: offer as u16,
                score: round6(p),
            })
            .collect();
        // Strongest first; ties as above, then by need and offer.
        reasons.sort_by(|x, y| {
            y.score
                .total_cmp(&x.score)
                .then(prefer(y.direction).cmp(&prefer(x.direction)))
                .then((x.need, x.offer).cmp(&(y.need, y.offer)))
        });
        reasons.truncate(3);

        let (pa, pb) = (&self.input.profiles[a], &self.input.profiles[b]);
        let categories = match (pa.category, pb.category) {
            (Some((ca, _)), Some((cb, _))) if category_compatibility(ca, cb) >= 0.5 => {
                Some((CATEGORIES[ca].to_owned(), CATEGORIES[cb].to_owned()))
            }
            _ => None,
        };
        PairScore {
            final_score: round6(final_score),
            score_a_to_b: round6(sab),
            score_b_to_a: round6(sba),
            needs_to_offers: round6(ab.value),
            offers_to_needs: round6(ba.value),
            complementarity: round6(complementarity),
            value_alignment: round6(value),
            general_similarity: round6(general),
            intent_a_to_b: round6(self.intent(&ab, &self.stats[a])),
            intent_b_to_a: round6(self.intent(&ba, &self.stats[b])),
            best: best.map_or(none, |(p, direction)| GoalMatch { score: round6(p), direction }),
            driving: driving.map_or(none, |(_, p, direction)| GoalMatch { score: round6(p), direction }),
            reasons,
            categories,
        }
    }

    /// Every answer vector and general vector projected on the head's basis.
    pub fn reduced(&self) -> Reduced {
        let project = |m: &Matrix, width: usize, f: &(dyn Fn(&[f32]) -> Vec<f32> + Sync)| {
            let mut out = Matrix::zeros(m.rows, width);
            out.fill_rows(self.threads, |i, row| row.copy_from_slice(&f(m.row(i))));
            out
        };
        let (r, k) = (self.head.reduced_width(), self.head.basis_rank());
        Reduced {
            needs: project(&self.needs, r, &|v| self.head.reduce(v)),
            offers: project(&self.offers, r, &|v| self.head.reduce(v)),
            general: project(&self.general, k, &|v| self.head.reduce_embedding(v)),
            mean_diag: self.inverse_diag.len() as f32 / self.inverse_diag.iter().sum::<f32>(),
        }
    }

    /// `final_score` approximated on the projected vectors, for the second stage of
    /// candidate search: each need's best offer as the exact score takes it (which the
    /// search's single dot product cannot), the topic gate on the projected cosine, the
    /// principal's own distribution, category, value alignment and projected general
    /// similarity.
    pub fn approximate(&self, reduced: &Reduced, a: usize, b: usize) -> f32 {
        let k = self.head.basis_rank();
        let gate = self.policy.topic_gate;
        let floor = self.policy.topic_floor;
        let answering = |a: usize, b: usize| {
            let (needs, offers) = self.pairings(a, b);
            Self::aggregate(needs.enumerate().map(|(ni, need)| {
                let nv = reduced.needs.row(need);
                let (oj, z) = offers
                    .clone()
                    .enumerate()
                    .map(|(oj, o)| {
                        let ov = reduced.offers.row(o);
                        let cosine = dot(&nv[..k], &ov[..k]) / reduced.mean_diag;
                        (oj, dot(nv, ov) - gate * (floor - cosine).max(0.0))
                    })
                    .fold((0, f32::NEG_INFINITY), |best, x| if x.1 > best.1 { x } else { best });
                (ni, oj, z)
            }))
        };
        let (ab, ba) = (answering(a, b), answering(b, a));
        let general = dot(reduced.general.row(a), reduced.general.row(b)).clamp(0.0, 1.0);
        let (sab, sba) = self.both_directions((a, b), (&ab, &ba), (self.category(a, b), self.value(a, b), general));
        Self::harmonic(sab, sba)
    }

    /// The short vectors of candidate search. `ν_A` is the mean reduced answer vector of
    /// A's needs, `ω_A` of its offers (embedding parts projected on the head's basis), so
    /// `ν_A·ω_B` approximates the mean logit of B's offers for A's needs; `m_A`, `s_A` are
    /// that approximation's mean and spread over A's sample, and `ĝ` the projected general
    /// vector. With
    /// `x_A = [ν_A/s_A ; ω_A ; 1 ; −m_A/s_A ; √γ ĝ_A]` and `y_B = [ω_B ; ν_B/s_B ; −m_B/s_B ; 1 ; √γ ĝ_B]`,
    /// `x_A·y_B = z_A(B) + z_B(A) + γ ĝ_A·ĝ_B`: both directions' answering, each standardized
    /// for its principal as the exact score does, plus general similarity. Symmetric.
    /// (Adding goal-category complementarity did not help: at 5,000 attendees recall fell
    /// from 0.915 to 0.903 with weight 5 and to 0.634 with 15.) What the search loses is
    /// mostly the pooling: it averages over all need-offer pairs where the exact score
    /// takes each need's best offer (docs/benchmarks.md).
    pub fn candidate_vectors(&self, reduced: &Reduced) -> (Matrix, Matrix) {
        let n = self.n();
        let r = self.head.reduced_width();
        let k = self.head.basis_rank();
        let width = 2 * r + 2 + k;
        let threads = self.threads;
        let gamma = self.policy.candidate_general.sqrt();
        let mean_reduced = |m: &Matrix, at: &[usize]| {
            let mut out = Matrix::zeros(n, r);
            out.fill_rows(threads, |i, acc| {
                let count = (at[i + 1] - at[i]).max(1) as f32;
                for row in at[i]..at[i + 1] {
                    acc.iter_mut().zip(m.row(row)).for_each(|(a, v)| *a += v / count);
                }
            });
            out
        };
        let (nu, omega) = (mean_reduced(&reduced.needs, &self.need_at), mean_reduced(&reduced.offers, &self.offer_at));
        let m = SAMPLE.min(n - 1);
        let sample: Vec<usize> = (0..m).map(|j| j * n / m).collect();
        let spread: Vec<(f32, f32)> = parallel(n, threads, |i| {
            let approx: Vec<f32> = sample.iter().filter(|&&j| j != i).map(|&j| dot(nu.row(i), omega.row(j))).collect();
            let (mean, sd) = mean_sd(&approx);
            (mean, sd.max(0.1))
        });
        let fill = |i: usize, row: &mut [f32], principal: bool| {
            let (mean, sd) = spread[i];
            let (a, b) = row.split_at_mut(r);
            let (b, rest) = b.split_at_mut(r);
            let (own_need, own_offer) = if principal { (a, b) } else { (b, a) };
            own_need.iter_mut().zip(nu.row(i)).for_each(|(o, v)| *o = v / sd);
            own_offer.copy_from_slice(omega.row(i));
            let (bias, rest) = rest.split_at_mut(2);
            (bias[0], bias[1]) = if principal { (1.0, -mean / sd) } else { (-mean / sd, 1.0) };
            rest.iter_mut().zip(reduced.general.row(i)).for_each(|(o, v)| *o = v * gamma);
        };
        let mut x = Matrix::zeros(n, width);
        x.fill_rows(threads, |i, row| fill(i, row, true));
        let mut y = Matrix::zeros(n, width);
        y.fill_rows(threads, |i, row| fill(i, row, false));
        (x, y)
    }

    /// Each principal's `top_n` by `final_score`, ties by index, among its candidates and
    /// the principals that have it as a candidate (`final_score` is symmetric), and the
    /// ordered pairs scored.
    pub fn rank(&self, candidates: &[Vec<u32>], top_n: usize, threads: usize) -> (Vec<Vec<u32>>, u64) {
        // Rounded as stored and shown, so ties are broken by ID as the lists say.
        Self::select(self.n(), candidates, top_n, threads, |a, b| round6(self.final_score(a, b)))
    }

    /// The second stage of candidate search: each principal's `keep` best of a wide
    /// candidate set by [`Prepared::approximate`], on the same terms as [`Prepared::rank`]
    /// (its own candidates and those that hold it).
    pub fn shortlist(&self, reduced: &Reduced, candidates: &[Vec<u32>], keep: usize, threads: usize) -> Vec<Vec<u32>> {
        Self::select(self.n(), candidates, keep, threads, |a, b| self.approximate(reduced, a, b) as f64).0
    }

    /// Each principal's `keep` best by `score` (higher first, ties by index) among its
    /// candidates and the principals that have it as a candidate; `score` must be
    /// symmetric, and each unordered pair is scored once. Scoring a pair reads vectors of
    /// both sides, so at 50,000 attendees it waits on memory more than it computes: the
    /// pairs are taken in groups of [`GROUP`] smaller indices (their rows stay in the
    /// cache) and, within a group, by larger index, so each row of the other side is read
    /// once per group for all the pairs that need it. Also returns the ordered pairs
    /// scored (two per unordered pair).
    fn select(
        n: usize,
        candidates: &[Vec<u32>],
        keep: usize,
        threads: usize,
        score: impl Fn(usize, usize) -> f64 + Sync,
    ) -> (Vec<Vec<u32>>, u64) {
        const CHUNK: usize = 4096;
        let mut pairs: Vec<(u32, u32)> = candidates
            .iter()
            .enumerate()
            .flat_map(|(a, list)| list.iter().map(move |&b| (b.min(a as u32), b.max(a as u32))))
            .filter(|(a, b)| a != b)
            .collect();
        pairs.sort_unstable_by_key(|&(a, b)| (a / GROUP, b, a));
        pairs.dedup();
        let scores: Vec<f64> = parallel(pairs.len().div_ceil(CHUNK), threads, |c| {
            let chunk = &pairs[c * CHUNK..((c + 1) * CHUNK).min(pairs.len())];
            chunk.iter().map(|&(a, b)| score(a as usize, b as usize)).collect::<Vec<f64>>()
        })
        .concat();
        let mut best: Vec<Vec<(f64, u32)>> = vec![Vec::new(); n];
        let better = |x: &(f64, u32), y: &(f64, u32)| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1));
        let push = |list: &mut Vec<(f64, u32)>, item: (f64, u32)| {
            let at = list.partition_point(|x| better(x, &item).is_lt());
            if at < keep {
                list.insert(at, item);
                list.truncate(keep);
            }
        };
        for (&(a, b), &s) in pairs.iter().zip(&scores) {
            push(&mut best[a as usize], (s, b));
            push(&mut best[b as usize], (s, a));
        }
        let lists = best.into_iter().map(|list| list.into_iter().map(|(_, b)| b).collect()).collect();
        (lists, 2 * pairs.len() as u64)
    }

    /// Every pair of the lists once, scored from its smaller index, with both ranks.
    pub fn pairs(&self, lists: &[Vec<u32>]) -> Vec<RankedPair> {
        type Ranks = (Option<u16>, Option<u16>);
        let mut ranks: std::collections::BTreeMap<(u32, u32), Ranks> = Default::default();
        for (a, list) in lists.iter().enumerate() {
            for (rank, &b) in list.iter().enumerate() {
                let rank = Some(rank as u16 + 1);
                let a = a as u32;
                let entry = ranks.entry((a.min(b), a.max(b))).or_default();
                if a < b {
                    entry.0 = rank;
                } else {
                    entry.1 = rank;
                }
            }
        }
        let keys: Vec<((u32, u32), Ranks)> = ranks.into_iter().collect();
        parallel(keys.len(), self.threads, |i| {
            let ((a, b), (a_rank, b_rank)) = keys[i];
            RankedPair { a, b, a_rank, b_rank, score: self.pair_score(a as usize, b as usize) }
        })
    }
}
