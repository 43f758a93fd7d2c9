//! Fault rules: chosen per call, counted down; most act before the business
//! logic, the after-execution kinds act on the answer of a call that ran.

use std::sync::Mutex;
use std::time::Duration;

use crate::types::{Fault, FaultKind};

/// What the fault rules decided for one call.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct FaultDecision {
    /// Total latency to add before answering.
    pub latency: Duration,
    /// A fault that replaces the real answer.
    pub fatal: Option<FaultKind>,
    /// Total delay between executing the call and answering it.
    pub latency_after: Duration,
    /// Close the connection instead of answering, after executing.
    pub drop_after: bool,
}

/// A fault and which of its matching calls it acts on.
#[derive(Debug)]
struct Rule {
    fault: Fault,
    /// Acts on every `every`th matching call only (1: on each).
    every: u32,
    /// Matching calls seen so far.
    seen: u32,
}

#[derive(Debug, Default)]
pub(crate) struct FaultSet {
    rules: Mutex<Vec<Rule>>,
}

impl FaultSet {
    pub fn add(&self, fault: Fault) {
        self.add_every(1, fault);
    }

    /// `fault` acts on the `every`th, `2·every`th, … matching call only; the calls
    /// between pass untouched and do not count against `remaining`.
    pub fn add_every(&self, every: u32, fault: Fault) {
        lock(&self.rules).push(Rule {
            fault,
            every: every.max(1),
            seen: 0,
        });
    }

    pub fn clear(&self) {
        lock(&self.rules).clear();
    }

    /// Rolls every matching rule once; latencies add up, the first fatal rule
    /// wins (and stops the roll), after-execution effects accumulate.
    pub fn decide(&self, api: &str) -> FaultDecision {
        let mut rules = lock(&self.rules);
        let mut decision = FaultDecision::default();
        for Rule { fault, every, seen } in rules.iter_mut() {
            if decision.fatal.is_some() {
                break;
            }
            if !applies(fault, api) {
                continue;
            }
            *seen += 1;
            if *seen % *every != 0 || !roll(fault.probability) {
                continue;
            }
            if let Some(n) = fault.remaining.as_mut() {
                *n -= 1;
            }
            match &fault.kind {
                FaultKind::Latency(d) => decision.latency += *d,
                FaultKind::LatencyAfterExecution(d) => decision.latency_after += *d,
                FaultKind::DropAfterExecution => decision.drop_after = true,
                other => decision.fatal = Some(other.clone()),
            }
        }
        rules.retain(|r| r.fault.remaining != Some(0));
        decision
    }
}

fn applies(rule: &Fault, api: &str) -> bool {
    rule.remaining != Some(0) && rule.api.as_deref().is_none_or(|a| a == api)
}

fn roll(probability: f64) -> bool {
    if probability >= 1.0 {
        return true;
    }
    probability > 0.0 && rand::random::<f64>() < probability
}

/// Locks a mutex, recovering from poisoning (a panicking test must not wedge the simulator).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_counts_down_and_rule_expires() {
        let set = FaultSet::default();
        set.add(Fault::times(Some("a"), FaultKind::Code(5), 2));
        assert_eq!(set.decide("b").fatal, None);
        assert_eq!(set.decide("a").fatal, Some(FaultKind::Code(5)));
        assert_eq!(set.decide("a").fatal, Some(FaultKind::Code(5)));
        assert_eq!(set.decide("a").fatal, None);
    }

    #[test]
    fn latencies_add_up_and_zero_probability_never_fires() {
        let set = FaultSet::default();
        let ms = Duration::from_millis;
        set.add(Fault::always(None, FaultKind::Latency(ms(10))));
        set.add(Fault::always(Some("x"), FaultKind::Latency(ms(5))));
        set.add(Fault {
            probability: 0.0,
            ..Fault::always(None, FaultKind::Http502)
        });
        let d = set.decide("x");
        assert_eq!(d.latency, ms(15));
        assert_eq!(d.fatal, None);
        set.clear();
        assert_eq!(set.decide("x"), FaultDecision::default());
    }

    #[test]
    fn after_execution_effects_accumulate_beside_a_before_latency() {
        let set = FaultSet::default();
        let ms = Duration::from_millis;
        set.add(Fault::times(
            None,
            FaultKind::LatencyAfterExecution(ms(7)),
            1,
        ));
        set.add(Fault::times(None, FaultKind::DropAfterExecution, 1));
        set.add(Fault::times(None, FaultKind::Latency(ms(3)), 1));
        let d = set.decide("a");
        assert_eq!(
            (d.latency, d.latency_after, d.drop_after, d.fatal),
            (ms(3), ms(7), true, None)
        );
        assert_eq!(set.decide("a"), FaultDecision::default());
    }

    #[test]
    fn an_every_nth_rule_acts_on_those_calls_only() {
        let set = FaultSet::default();
        set.add_every(2, Fault::always(Some("a"), FaultKind::Code(5)));
        let fired: Vec<bool> = (0..6).map(|_| set.decide("a").fatal.is_some()).collect();
        assert_eq!(fired, [false, true, false, true, false, true]);
        // Calls to other APIs are not counted.
        assert_eq!(set.decide("b").fatal, None);
        assert_eq!(set.decide("a").fatal, None);
        assert_eq!(set.decide("a").fatal, Some(FaultKind::Code(5)));

        // With `remaining`, only the nth call: the rule then expires.
        set.clear();
        set.add_every(3, Fault::times(Some("a"), FaultKind::Code(7), 1));
        let codes: Vec<_> = (0..7).map(|_| set.decide("a").fatal).collect();
        assert_eq!(
            codes,
            [None, None, Some(FaultKind::Code(7)), None, None, None, None]
        );
    }

    #[test]
    fn half_probability_fires_sometimes() {
        let set = FaultSet::default();
        set.add(Fault {
            probability: 0.5,
            ..Fault::always(None, FaultKind::Http502)
        });
        let hits = (0..400).filter(|_| set.decide("a").fatal.is_some()).count();
        assert!((100..300).contains(&hits), "hits = {hits}");
    }
}
