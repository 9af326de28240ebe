//! The one sentence the exchange's app shows a user about their withdrawal,
//! in English or Simplified Chinese.

use super::{State, Withdrawal};

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
    let progress = match (withdrawal.confirmations, withdrawal.required_confirmations) {
        (Some(have), Some(need)) => Some((have, need)),
        _ => None,
    };
    match language {
        Language::English => match withdrawal.state {
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
        Language::SimplifiedChinese => match withdrawal.state {
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

#[cfg(test)]
mod tests {
    use super::Language::{self, *};

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
}
