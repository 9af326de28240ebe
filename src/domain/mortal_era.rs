//! A Substrate transaction's mortal era: how long a signed extrinsic can be
//! included (Polkadot, Polkadot Asset Hub). The signature covers the hash of
//! the era's birth block, so the extrinsic is valid from its birth block for
//! `period` blocks and never again; the node cannot report an extrinsic it
//! dropped, so the last valid block is what says it expired. The rules are
//! Substrate's `sp_runtime::generic::Era` (`mortal`, `birth`, `death`).

/// `period` (a power of two, 4 to 65536) and `phase` (`birth % period`,
/// below `period`), as the extrinsic encodes them and Sidecar shows them
/// (`{"mortalEra": ["64", "11"]}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MortalEra {
    period: u64,
    phase: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a mortal era: period {period}, phase {phase} (a period is a power of two from 4 to 65536, the phase below it)"
)]
pub struct EraError {
    pub period: u64,
    pub phase: u64,
}

const MIN_PERIOD: u64 = 4;
const MAX_PERIOD: u64 = 1 << 16;

impl MortalEra {
    /// The era a signer builds for `period` blocks from block `current`
    /// (Substrate's `Era::mortal`): the period rounded up to a power of two
    /// within 4..=65536, the phase `current % period`, quantized for long
    /// periods (to a multiple of `period / 4096`).
    pub fn new(period: u64, current: u64) -> MortalEra {
        let period = period.checked_next_power_of_two().unwrap_or(MAX_PERIOD).clamp(MIN_PERIOD, MAX_PERIOD);
        let quantize = (period >> 12).max(1);
        let phase = current % period / quantize * quantize;
        MortalEra { period, phase }
    }

    /// An era as an extrinsic carries it.
    pub fn from_parts(period: u64, phase: u64) -> Result<MortalEra, EraError> {
        let valid = period.is_power_of_two() && (MIN_PERIOD..=MAX_PERIOD).contains(&period) && phase < period;
        if valid {
            Ok(MortalEra { period, phase })
        } else {
            Err(EraError { period, phase })
        }
    }

    pub fn period(&self) -> u64 {
        self.period
    }

    pub fn phase(&self) -> u64 {
        self.phase
    }

    /// The birth block of the era that block `current` lies in: the block
    /// whose hash the signature covers.
    pub fn birth(&self, current: u64) -> u64 {
        (current.max(self.phase) - self.phase) / self.period * self.period + self.phase
    }

    /// The last block that can include an extrinsic with this era, given
    /// any block of its validity (its birth, the block it was signed at, or
    /// the block that included it): the block before the era's death.
    pub fn last_valid_block(&self, current: u64) -> u64 {
        self.birth(current) + self.period - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eras_are_built_as_substrate_builds_them() {
        // (period asked, current block) -> (period, phase)
        let cases = [
            ((64, 42), (64, 42)),
            ((64, 1000), (64, 40)),
            ((10, 1000), (16, 8)),
            ((1, 5), (4, 1)),
            ((0, 5), (4, 1)),
            ((1 << 20, 5), (1 << 16, 0)),
            ((u64::MAX, 5), (1 << 16, 0)),
            ((32_768, 20_005), (32_768, 20_000)),
        ];
        for ((period, current), (want_period, want_phase)) in cases {
            let era = MortalEra::new(period, current);
            assert_eq!((era.period(), era.phase()), (want_period, want_phase), "period {period} at {current}");
        }
    }

    #[test]
    fn the_last_valid_block_is_the_one_before_the_era_dies() {
        // (period, phase, a block of its validity) -> last valid block
        let cases = [
            (64, 42, 42, 105),
            (64, 42, 100, 105),
            (64, 42, 105, 105),
            (64, 42, 106, 169), // the next era of the same phase
            (64, 42, 10, 105),  // before the phase: the first era
            (4, 0, 0, 3),
            (65_536, 0, 1, 65_535),
        ];
        for (period, phase, current, last) in cases {
            let era = MortalEra::from_parts(period, phase).unwrap();
            assert_eq!(era.last_valid_block(current), last, "({period}, {phase}) at {current}");
        }
        let signed_at = 1_000;
        let era = MortalEra::new(64, signed_at);
        assert_eq!(era.birth(signed_at), signed_at);
        assert_eq!(era.last_valid_block(signed_at), signed_at + 63);
    }

    #[test]
    fn only_real_eras_are_accepted() {
        for (period, phase) in [(3, 0), (6, 1), (2, 0), (1 << 17, 0), (64, 64), (0, 0)] {
            assert_eq!(MortalEra::from_parts(period, phase), Err(EraError { period, phase }));
        }
        assert!(MortalEra::from_parts(64, 63).is_ok());
    }
}
