//! The one sentence the exchange's app shows a user about their withdrawal,
//! in English or Simplified Chinese.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::eta::{Delay, DelayCode, Estimate};
use super::{Network, State, Withdrawal};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    SimplifiedChinese,
}

impl Language {
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::SimplifiedChinese => "zh-CN",
        }
    }

    /// Picks from an `Accept-Language` header: the highest-weighted range we
    /// serve wins; any Chinese range gets Simplified Chinese (the exchange's
    /// only Chinese text), anything else English.
    pub fn negotiate(accept_language: Option<&str>) -> Language {
        let Some(header) = accept_language else { return Language::English };
        let mut best: Option<(f32, Language)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let range = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = pieces
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
                .unwrap_or(1.0);
            if quality <= 0.0 {
                continue;
            }
            let language = if range == "zh" || range.starts_with("zh-") {
                Language::SimplifiedChinese
            } else if range == "en" || range.starts_with("en-") || range == "*" {
                Language::English
            } else {
                continue;
            };
            if best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, language));
            }
        }
        best.map_or(Language::English, |(_, language)| language)
    }
}

pub fn status_message(withdrawal: &Withdrawal, language: Language) -> String {
    let network = withdrawal.network.display_name();
    let progress = match (withdrawal.chain.confirmations, withdrawal.chain.required_confirmations) {
        (Some(have), Some(need)) => Some((have, need)),
        _ => None,
    };
    match language {
        Language::English => match withdrawal.state() {
            State::Pending => "Your withdrawal request has been received and is being processed.".to_owned(),
            State::Broadcast => format!(
                "Your withdrawal has been sent to the {network} network and is waiting to be included in a block."
            ),
            State::Confirming => match progress {
                Some((have, need)) => format!(
                    "Your withdrawal is on the {network} network and being confirmed ({have} of {need} confirmations)."
                ),
                None => format!("Your withdrawal is on the {network} network and being confirmed."),
            },
            State::Completed => "Your withdrawal is complete.".to_owned(),
            State::Failed => {
                "The withdrawal transaction failed on the network. We are resending it or will contact you.".to_owned()
            }
            State::Dropped => {
                "The withdrawal transaction was dropped by the network. We are resending it or will contact you."
                    .to_owned()
            }
            State::Cancelled => "Your withdrawal was cancelled.".to_owned(),
        },
        Language::SimplifiedChinese => match withdrawal.state() {
            State::Pending => "您的提现申请已收到，正在处理中。".to_owned(),
            State::Broadcast => format!("您的提现已发送至 {network} 网络，正在等待打包进区块。"),
            State::Confirming => match progress {
                Some((have, need)) => format!("您的提现已上链（{network}），正在确认中（{have}/{need} 个确认）。"),
                None => format!("您的提现已上链（{network}），正在确认中。"),
            },
            State::Completed => "您的提现已完成。".to_owned(),
            State::Failed => "提现交易在链上执行失败，我们将重新发送或与您联系。".to_owned(),
            State::Dropped => "提现交易已被网络丢弃，我们将重新发送或与您联系。".to_owned(),
            State::Cancelled => "您的提现已取消。".to_owned(),
        },
    }
}

/// The status sentence with why it is late (when it is) and when it is
/// expected (by the estimate's 90th percentile: "within about ..."), e.g.
/// "The Bitcoin network is congested and your transaction's fee is below
/// what miners take now; expected within about 3 hours."
pub fn status_message_with(
    withdrawal: &Withdrawal,
    estimate: &Estimate,
    now: DateTime<Utc>,
    language: Language,
) -> String {
    let mut message = status_message(withdrawal, language);
    let within = estimate.eta.p90.map(|p90| about(p90 - now, language));
    let reason = estimate.delay.as_ref().map(|delay| reason(delay, withdrawal.network, language));
    // Written into the message itself (no intermediate string per part).
    let _ = match (language, reason, within) {
        (Language::English, Some(reason), Some(within)) => {
            write!(message, " {reason}; expected within about {within}.")
        }
        (Language::English, Some(reason), None) => write!(message, " {reason}."),
        (Language::English, None, Some(within)) => write!(message, " Expected within about {within}."),
        (Language::SimplifiedChinese, Some(reason), Some(within)) => {
            write!(message, "{reason}，预计约 {within}内到账。")
        }
        (Language::SimplifiedChinese, Some(reason), None) => write!(message, "{reason}。"),
        (Language::SimplifiedChinese, None, Some(within)) => write!(message, "预计约 {within}内到账。"),
        (_, None, None) => Ok(()),
    };
    message
}

/// Why it is late, as a sentence in `language` (the view's `delay.message`).
pub fn delay_message(delay: &Delay, network: Network, language: Language) -> String {
    let reason = reason(delay, network, language);
    match language {
        Language::English => format!("{reason}."),
        Language::SimplifiedChinese => format!("{reason}。"),
    }
}

/// Why it is late, as a clause (no closing stop).
fn reason(delay: &Delay, network: Network, language: Language) -> String {
    let name = network.display_name();
    let congested = delay.details.network_congested;
    match language {
        Language::English => match delay.code {
            DelayCode::AwaitingSend => "It is taking the exchange longer than usual to send it".to_owned(),
            DelayCode::LowFee if congested => {
                format!("The {name} network is congested and your transaction's fee is below what miners take now")
            }
            DelayCode::LowFee => format!("Your transaction's fee is below what the {name} network takes now"),
            DelayCode::NetworkCongested => format!("The {name} network is congested"),
            DelayCode::SlowBlocks => format!("{name} blocks are arriving more slowly than usual"),
            DelayCode::StuckBehindEarlier => {
                "Your transaction waits for an earlier transaction from the same sender".to_owned()
            }
            DelayCode::ExplorerUnavailable => {
                format!("We cannot see the {name} network right now (the delay is on our side)")
            }
            DelayCode::AwaitingConfirmations => "Confirmations are taking longer than expected".to_owned(),
        },
        Language::SimplifiedChinese => match delay.code {
            DelayCode::AwaitingSend => "交易所发送时间比平时长".to_owned(),
            DelayCode::LowFee if congested => format!("{name} 网络拥堵，您的交易手续费低于矿工当前接受的水平"),
            DelayCode::LowFee => format!("您的交易手续费低于 {name} 网络当前接受的水平"),
            DelayCode::NetworkCongested => format!("{name} 网络拥堵"),
            DelayCode::SlowBlocks => format!("{name} 出块比平时慢"),
            DelayCode::StuckBehindEarlier => "您的交易正在等待同一发送方的较早交易先被确认".to_owned(),
            DelayCode::ExplorerUnavailable => format!("我们暂时无法查看 {name} 网络（延迟在我方）"),
            DelayCode::AwaitingConfirmations => "确认时间比预期长".to_owned(),
        },
    }
}

/// A duration the way people say it: minutes up to an hour, hours up to two
/// days, then days (rounded up: "within" should not promise too early).
fn about(duration: chrono::Duration, language: Language) -> String {
    let minutes = (duration.num_seconds().max(60) + 59) / 60;
    let (count, unit) = if minutes < 60 {
        (minutes, 0)
    } else if minutes < 48 * 60 {
        ((minutes + 59) / 60, 1)
    } else {
        ((minutes + 24 * 60 - 1) / (24 * 60), 2)
    };
    match language {
        Language::English => {
            let unit = ["minute", "hour", "day"][unit];
            if count == 1 {
                format!("1 {unit}")
            } else {
                format!("{count} {unit}s")
            }
        }
        Language::SimplifiedChinese => format!("{count} {}", ["分钟", "小时", "天"][unit]),
    }
}

#[cfg(test)]
mod tests {
    use super::Language::{self, *};
    use super::*;
    use crate::domain::eta::{Basis, DelayDetails, Eta};
    use crate::domain::{at, sample_withdrawal};

    fn estimate(hours: i64, delay: Option<(DelayCode, bool)>) -> Estimate {
        let now = at("2026-03-02T10:00:00Z");
        let p90 = now + chrono::Duration::hours(hours) - chrono::Duration::minutes(10);
        Estimate {
            eta: Eta { p50: Some(now), p90: Some(p90), basis: Basis::Mempool },
            delay: delay.map(|(code, network_congested)| Delay {
                code,
                since: now,
                details: DelayDetails { network_congested, ..Default::default() },
            }),
        }
    }

    #[test]
    fn the_message_says_why_and_when() {
        let w = sample_withdrawal("w", "2026-03-02T09:00:00Z", true);
        let now = at("2026-03-02T10:00:00Z");
        let base = "Your withdrawal has been sent to the Bitcoin network and is waiting to be included in a block.";
        let cases = [
            (estimate(3, Some((DelayCode::LowFee, true))), English, format!("{base} The Bitcoin network is congested and your transaction's fee is below what miners take now; expected within about 3 hours.")),
            (estimate(1, None), English, format!("{base} Expected within about 50 minutes.")),
            (estimate(72, Some((DelayCode::SlowBlocks, false))), English, format!("{base} Bitcoin blocks are arriving more slowly than usual; expected within about 3 days.")),
            (estimate(3, Some((DelayCode::LowFee, true))), SimplifiedChinese, "您的提现已发送至 Bitcoin 网络，正在等待打包进区块。Bitcoin 网络拥堵，您的交易手续费低于矿工当前接受的水平，预计约 3 小时内到账。".to_owned()),
            (estimate(2, None), SimplifiedChinese, "您的提现已发送至 Bitcoin 网络，正在等待打包进区块。预计约 2 小时内到账。".to_owned()),
        ];
        for (estimate, language, expected) in cases {
            assert_eq!(status_message_with(&w, &estimate, now, language), expected);
        }
        let done = Estimate { eta: Eta { p50: None, p90: None, basis: Basis::None }, delay: None };
        assert_eq!(status_message_with(&w, &done, now, English), base);
    }

    #[test]
    fn every_delay_code_has_words_in_both_languages() {
        for code in DelayCode::ALL {
            let delay = Delay { code, since: at("2026-03-02T10:00:00Z"), details: DelayDetails::default() };
            for language in [English, SimplifiedChinese] {
                assert!(!reason(&delay, Network::Eth, language).is_empty());
            }
        }
    }

    #[test]
    fn negotiates_the_languages_we_serve() {
        let cases: &[(Option<&str>, Language)] = &[
            (None, English),
            (Some(""), English),
            (Some("zh"), SimplifiedChinese),
            (Some("zh-CN"), SimplifiedChinese),
            (Some("ZH-cn,zh;q=0.9"), SimplifiedChinese),
            (Some("en-US,en;q=0.9,zh-CN;q=0.8"), English),
            (Some("fr-FR,zh-CN;q=0.5"), SimplifiedChinese),
            (Some("zh-CN;q=0,en;q=0.1"), English),
            (Some("de"), English),
            (Some("zh-CN;q=0.4, en;q=0.7"), English),
        ];
        for (header, expected) in cases {
            assert_eq!(Language::negotiate(*header), *expected, "{header:?}");
        }
    }

    use proptest::prelude::*;

    /// A language range we may or may not serve, and its weight in thousandths
    /// (`None`: no `q`, which means 1).
    fn range() -> impl Strategy<Value = (String, Option<u16>)> {
        let tag = prop_oneof![
            proptest::sample::select(vec![
                "zh",
                "zh-CN",
                "ZH-tw",
                "zh-Hans-CN",
                "en",
                "en-US",
                "EN-gb",
                "*",
                "fr",
                "de-DE",
                "zhx",
                "eng"
            ])
            .prop_map(str::to_owned),
            "[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})?",
        ];
        (tag, proptest::option::of(0u16..=1000))
    }

    /// The rule, restated: the highest weight among ranges we serve wins, the
    /// first one on a tie; weight 0 means "not this one"; nothing served: English.
    fn reference(ranges: &[(String, Option<u16>)]) -> Language {
        let mut best: Option<(u16, Language)> = None;
        for (tag, q) in ranges {
            let q = q.unwrap_or(1000);
            let tag = tag.to_ascii_lowercase();
            let language = if tag == "zh" || tag.starts_with("zh-") {
                SimplifiedChinese
            } else if tag == "en" || tag.starts_with("en-") || tag == "*" {
                English
            } else {
                continue;
            };
            if q > 0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, language));
            }
        }
        best.map_or(English, |(_, language)| language)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn negotiation_agrees_with_the_reference(ranges in proptest::collection::vec(range(), 0..6), spaced in any::<bool>()) {
            let header = ranges
                .iter()
                .map(|(tag, q)| match q {
                    Some(q) if spaced => format!(" {tag} ; q={}.{:03}", q / 1000, q % 1000),
                    Some(q) => format!("{tag};q={}.{:03}", q / 1000, q % 1000),
                    None => tag.clone(),
                })
                .collect::<Vec<_>>()
                .join(",");
            prop_assert_eq!(Language::negotiate(Some(&header)), reference(&ranges), "{}", header);
        }

        #[test]
        fn negotiation_never_panics(header in prop_oneof![".{0,100}", "[a-zA-Z*,;=q. 0-9-]{0,100}"]) {
            let language = Language::negotiate(Some(&header));
            prop_assert!(matches!(language.tag(), "en" | "zh-CN"));
        }
    }
}
