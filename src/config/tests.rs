use super::*;

const GOOD: &str = r#"
    listen = "127.0.0.1:0"
    [auth]
    ingest_tokens = ["ingest-token-0123456789"]
    support_tokens = ["support-token-0123456789"]
    user_jwt_secret = "0123456789abcdef0123456789abcdef"
"#;

/// The file as written, once it converts to settings.
fn check(text: &str) -> Result<Config, ConfigErrors> {
    let config = Config::parse_toml(text, "test.toml")?;
    config.settings()?;
    Ok(config)
}

#[test]
fn a_minimal_file_gets_defaults() {
    let config = check(GOOD).unwrap();
    assert_eq!(config.key_prefix, "wt");
    assert!(config.redis_url.is_none());
    assert_eq!(config.store_timeout.0, Duration::from_secs(2));
}

#[test]
fn unknown_keys_are_named() {
    let err = check(&GOOD.replace("listen =", "lisen =")).unwrap_err().to_string();
    assert!(err.contains("lisen"), "{err}");
    let err = check(&format!("{GOOD}\nextra = 1")).unwrap_err().to_string();
    assert!(err.contains("extra"), "{err}");
}

#[test]
fn bad_values_are_named() {
    let cases = [
        (GOOD.replace("127.0.0.1:0", "nowhere"), "listen"),
        (GOOD.replace("0123456789abcdef0123456789abcdef", "short"), "auth.user_jwt_secret"),
        (GOOD.replace("ingest-token-0123456789", "short"), "auth.ingest_tokens[0]"),
        (format!("key_prefix = \"a b\"\n{GOOD}"), "key_prefix"),
        (format!("redis_url = \"http://x\"\n{GOOD}"), "redis_url"),
        (format!("redis_url = \"redis://a:1,redis://b:1\"\n{GOOD}"), "redis_url"),
        (format!("redis_cluster = true\n{GOOD}"), "redis_cluster"),
        (format!("redis_cluster = true\nredis_url = \"redis://a:1, unix:///x\"\n{GOOD}"), "redis_url[1]"),
        (format!("redis_cluster = true\nredis_url = \" , \"\n{GOOD}"), "redis_url"),
        (format!("redis_cluster = true\nredis_url = \"redis://a:1,rediss://b:1\"\n{GOOD}"), "redis_url"),
        (format!("redis_cluster = \"yes\"\n{GOOD}"), "redis_cluster"),
        (format!("{GOOD}\njwt_leeway = \"5m\""), "auth.jwt_leeway"),
        (format!("store_timeout = \"soon\"\n{GOOD}"), "store_timeout"),
        (format!("metrics_listen = \"everywhere\"\n{GOOD}"), "metrics_listen"),
        (format!("log_format = \"xml\"\n{GOOD}"), "log_format"),
        (format!("log_buffer_lines = 0\n{GOOD}"), "log_buffer_lines"),
        (format!("{GOOD}\n[rate_limit]\nper_token_per_second = 0"), "rate_limit.per_token_per_second"),
        (format!("{GOOD}\n[networks.BTC]\nexplorer = \"evm\"\nurls = [\"http://x\"]"), "networks.BTC.explorer"),
        (format!("{GOOD}\n[networks.ETH]\nexplorer = \"evm\"\nurls = []"), "networks.ETH.urls"),
        (format!("{GOOD}\n[networks.NOPE]\nexplorer = \"evm\"\nurls = [\"http://x\"]"), "networks.NOPE"),
        (format!("{GOOD}\n[sla]\ntimezone = \"Mars/Olympus\""), "sla.timezone"),
        (format!("{GOOD}\n[sla]\nworking_hours = \"18:00-09:00\""), "sla.working_hours"),
        (format!("{GOOD}\n[sla]\nholidays = [\"2026-13-01\"]"), "sla.holidays[0]"),
        (format!("{GOOD}\n[sla]\ncalendars = [\"nope.toml\"]"), "sla.calendars[0]"),
        (format!("{GOOD}\n[sla.extra_working_days]\nDOGGO = 1"), "sla.extra_working_days.DOGGO"),
        (format!("{GOOD}\n[tickets]\nsink = \"webhook\""), "tickets.url"),
        (format!("{GOOD}\n[tickets]\nsink = \"webhook\"\nurl = \"http://x\""), "tickets.secret"),
        (format!("{GOOD}\n[tickets]\nsink = \"jira\""), "tickets.jira"),
        (format!("{GOOD}\n[tickets]\nsink = \"carrier-pigeon\""), "sink"),
    ];
    for (text, key) in cases {
        let err = check(&text).unwrap_err().to_string();
        assert!(err.contains(key), "expected {key} in {err}");
    }
}

#[test]
fn redis_nodes_are_one_url_or_the_cluster_seeds() {
    let single = check(&format!("redis_url = \"redis://h:6379/0\"\n{GOOD}")).unwrap();
    assert_eq!(single.redis_nodes(), ["redis://h:6379/0"]);
    assert!(!single.redis_cluster);
    let seeds = "redis_url = \"redis://a:7000, redis://b:7001,\"";
    let cluster = check(&format!("redis_cluster = true\n{seeds}\n{GOOD}")).unwrap();
    assert_eq!(cluster.redis_nodes(), ["redis://a:7000", "redis://b:7001"]);
    let one_seed = check(&format!("redis_cluster = true\nredis_url = \"rediss://cfg.example:6379\"\n{GOOD}"));
    assert_eq!(one_seed.unwrap().redis_nodes(), ["rediss://cfg.example:6379"]);
    assert!(check(GOOD).unwrap().redis_nodes().is_empty());
}

#[test]
fn env_overrides_listen_and_redis() {
    let mut config = check(GOOD).unwrap();
    config.apply_env(|k| match k {
        ENV_LISTEN => Some("0.0.0.0:9999".into()),
        ENV_REDIS_URL => Some("redis://127.0.0.1:1/".into()),
        _ => None,
    });
    assert_eq!(config.listen, "0.0.0.0:9999");
    assert_eq!(config.redis_url.as_ref().unwrap().expose(), "redis://127.0.0.1:1/");
    config.apply_env(|k| (k == ENV_REDIS_URL).then(String::new));
    assert!(config.redis_url.is_none());
}

#[test]
fn secrets_may_come_from_the_environment() {
    let without = GOOD.replace("user_jwt_secret = \"0123456789abcdef0123456789abcdef\"", "");
    let without = format!("{without}\n[retention.archive]\nkind = \"url\"\nurl = \"https://archive\"\n");
    let mut config = Config::parse_toml(&without, "t").unwrap();
    assert!(config.settings().unwrap_err().to_string().contains("auth.user_jwt_secret"));
    config.apply_env(|k| match k {
        ENV_USER_JWT_SECRET => Some("from-the-environment-0123456789abcdef".into()),
        ENV_INGEST_TOKENS => Some("ingest-from-env-0123456789, second-ingest-0123456789".into()),
        ENV_TICKETS_SECRET => Some("webhook-secret-0123456789".into()),
        ENV_RETENTION_ARCHIVE_SECRET => Some("archive-secret-0123456789".into()),
        _ => None,
    });
    config.settings().unwrap();
    assert_eq!(config.auth.ingest_tokens.len(), 2);
    assert_eq!(config.auth.ingest_tokens[1].expose(), "second-ingest-0123456789");
    assert_eq!(config.tickets.secret.unwrap().expose(), "webhook-secret-0123456789");
    let Some(ArchiveConfig::Url { secret, .. }) = &config.retention.archive else { panic!("a url archive") };
    assert_eq!(secret.expose(), "archive-secret-0123456789");
}

#[test]
fn secrets_do_not_show_in_debug_output() {
    let shown = format!("{:?}", check(GOOD).unwrap());
    assert!(!shown.contains("0123456789abcdef0123456789abcdef"));
    assert!(!shown.contains("ingest-token-0123456789"));
}

#[test]
fn retention_defaults_to_90_days_and_checks_its_archive() {
    let config = check(GOOD).unwrap();
    assert_eq!(config.retention.terminal_for.0, Duration::from_secs(90 * 86_400));
    assert!(config.retention.archive.is_none());
    let forever = check(&format!("{GOOD}\n[retention]\nterminal_for = \"0\"\n")).unwrap();
    assert!(forever.retention.terminal_for.0.is_zero());
    let file =
        format!("{GOOD}\n[retention]\nterminal_for = \"7d\"\narchive = {{ kind = \"file\", dir = \"/tmp/a\" }}\n");
    assert!(matches!(check(&file).unwrap().retention.archive, Some(ArchiveConfig::File { .. })));
    let weak = format!("{GOOD}\n[retention.archive]\nkind = \"url\"\nurl = \"https://a\"\nsecret = \"short\"\n");
    assert!(check(&weak).unwrap_err().to_string().contains("retention.archive.secret"));
    let unknown = format!("{GOOD}\n[retention.archive]\nkind = \"file\"\ndir = \"/a\"\nurl = \"https://a\"\n");
    assert!(check(&unknown).is_err(), "a file archive takes no url");
}

#[test]
fn three_mistakes_are_all_reported_with_their_keys() {
    let text = format!(
        "metrics_listen = \"everywhere\"\n{GOOD}\n[networks.BTC]\nexplorer = \"esplora\"\n\
         urls = [\"http://x\"]\npoll_interval = \"10ms\"\n[tickets]\nmax_attempts = 0\n"
    );
    let errors = check(&text).unwrap_err();
    assert_eq!(errors.keys(), ["metrics_listen", "networks.BTC.poll_interval", "tickets.max_attempts"], "{errors}");
    let lines: Vec<String> = errors.to_string().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{errors}");
    assert!(lines[1].starts_with("networks.BTC.poll_interval: "), "{errors}");
}

#[test]
fn every_problem_in_one_section_is_reported() {
    let text = format!(
        "{GOOD}\n[networks.ETH]\nexplorer = \"tron\"\nurls = [\"ftp://x\"]\nrequest_timeout = \"0\"\n\
         batch_size = 0\napi_key = \"k\"\n[networks.NOPE]\nexplorer = \"evm\"\nurls = []\n\
         [sla]\nat_risk_after = 3\nsweep_interval = \"1ms\"\nextra_working_days = {{ MOON = 1 }}\n"
    );
    let errors = check(&text.replace("127.0.0.1:0", "nowhere")).unwrap_err();
    assert_eq!(
        errors.keys(),
        [
            "listen",
            "sla.at_risk_after",
            "sla.extra_working_days.MOON",
            "sla.sweep_interval",
            "networks.ETH.explorer",
            "networks.ETH.urls[0]",
            "networks.ETH.api_key_header",
            "networks.ETH.request_timeout",
            "networks.ETH.batch_size",
            "networks.NOPE",
            "networks.NOPE.urls",
        ],
        "{errors}"
    );
}

#[test]
fn every_misfit_in_the_file_is_named() {
    let text = format!(
        "log_format = \"xml\"\ncolour = \"blue\"\n{GOOD}\n[sla]\nsweep_interval = \"fast\"\nat_risk_after = 1\n\
         [networks.ETH]\nexplorer = \"evm\"\nurls = [\"http://x\"]\nnonsense = 1\n\
         [tickets]\nsink = \"carrier-pigeon\"\n"
    );
    let errors = check(&text).unwrap_err();
    assert_eq!(
        errors.keys(),
        ["colour", "log_format", "networks.ETH", "sla.sweep_interval", "tickets.sink"],
        "{errors}"
    );
    assert!(errors.to_string().contains("nonsense"), "{errors}");
}

#[test]
fn load_reports_misfits_and_bad_values_together() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let text = "listen = \"nowhere\"\ncolour = \"blue\"\n[auth]\nuser_jwt_secret = 5\n\
                [tickets]\nsink = \"jira\"\njira = { base_url = \"https://j\" }\nmax_attempts = 0\n";
    std::fs::write(file.path(), text).unwrap();
    let errors = Config::load(Some(file.path())).unwrap_err();
    // Each key once: the refused secret and Jira table are not reported
    // again as missing.
    assert_eq!(
        errors.keys(),
        ["auth.user_jwt_secret", "colour", "tickets.jira", "listen", "tickets.max_attempts"],
        "{errors}"
    );
    let unreadable = Config::load(Some(Path::new("/nonexistent/tracker.toml"))).unwrap_err();
    assert!(matches!(unreadable.iter().collect::<Vec<_>>()[..], [ConfigError::Read { .. }]));
}

#[test]
fn settings_are_typed() {
    let text = format!(
        "redis_cluster = true\nredis_url = \"redis://a:7000, redis://b:7001\"\nmetrics_listen = \"0.0.0.0:9090\"\n\
         {GOOD}\n[sla]\nextra_working_days = {{ DOGE = 1 }}\nsweep_interval = \"5s\"\n\
         [networks.ETH]\nexplorer = \"evm\"\nurls = [\"http://eth\"]\npoll_interval = \"2s\"\n\
         api_key_header = \"x-api-key\"\napi_key = \"key-0123\"\n\
         [networks.BTC]\nexplorer = \"esplora\"\nurls = [\"http://btc\"]\nrequired_confirmations = 3\n\
         [tickets]\nsink = \"webhook\"\nurl = \"https://hooks\"\nsecret = \"webhook-secret-0123456789\"\n\
         [retention]\ntombstone_for = \"1d\"\narchive = {{ kind = \"url\", url = \"https://a\", \
         secret = \"archive-secret-0123456789\" }}\n"
    );
    let settings = Config::parse_toml(&text, "t").unwrap().settings().unwrap();
    assert_eq!(settings.listen, "127.0.0.1:0".parse::<SocketAddr>().unwrap());
    assert_eq!(settings.metrics_listen, Some("0.0.0.0:9090".parse().unwrap()));
    let StoreBackend::Cluster(nodes) = &settings.store.backend else { panic!("a cluster") };
    assert_eq!(nodes.iter().map(Secret::expose).collect::<Vec<_>>(), ["redis://a:7000", "redis://b:7001"]);
    assert_eq!(settings.store.timeout, Duration::from_secs(2));
    assert_eq!(settings.sla.policy.extra_working_days, BTreeMap::from([(Network::Doge, 1)]));
    assert_eq!(settings.sla.sweep_interval, Duration::from_secs(5));
    assert_eq!(settings.networks.keys().copied().collect::<Vec<_>>(), [Network::Btc, Network::Eth]);
    let eth = &settings.networks[&Network::Eth];
    assert_eq!((eth.explorer, eth.required_confirmations), (ExplorerKind::Evm, 64), "the network's default");
    assert_eq!(eth.poll_interval, Duration::from_secs(2));
    let key = eth.api_key.as_ref().unwrap();
    assert_eq!((key.header.as_str(), key.value.expose()), ("x-api-key", "key-0123"));
    assert_eq!(settings.networks[&Network::Btc].required_confirmations, 3);
    let SinkSettings::Webhook { url, secret } = &settings.tickets.sink else { panic!("a webhook") };
    assert_eq!((url.as_str(), secret.expose()), ("https://hooks", "webhook-secret-0123456789"));
    assert_eq!(settings.tickets.timeout, Duration::from_secs(10));
    assert_eq!(settings.retention.tombstone_for, Duration::from_secs(86_400));
    let Some(ArchiveSettings::Url { max_attempts, timeout, .. }) = &settings.retention.archive else {
        panic!("a url archive")
    };
    assert_eq!((*max_attempts, *timeout), (5, Duration::from_secs(10)));
    let single = check(&format!("redis_url = \"redis://h:6379/0\"\n{GOOD}")).unwrap().settings().unwrap();
    assert_eq!(single.store.backend, StoreBackend::Redis(Secret::from("redis://h:6379/0")));
    assert_eq!(check(GOOD).unwrap().settings().unwrap().store.backend, StoreBackend::Memory);
}

#[test]
fn durations_parse_with_units() {
    assert_eq!(HumanDuration::parse("250ms"), Some(Duration::from_millis(250)));
    assert_eq!(HumanDuration::parse("30s"), Some(Duration::from_secs(30)));
    assert_eq!(HumanDuration::parse("2h"), Some(Duration::from_secs(7200)));
    assert_eq!(HumanDuration::parse("90d"), Some(Duration::from_secs(90 * 86_400)));
    assert_eq!(HumanDuration::parse("0"), Some(Duration::ZERO));
    assert_eq!(HumanDuration::parse("30"), None);
    assert_eq!(HumanDuration::parse("s"), None);
}

use proptest::prelude::*;

/// The parts of a valid config the generator varies, and the file it writes.
#[derive(Debug, Clone)]
struct Generated {
    port: u16,
    key_prefix: String,
    store_timeout_ms: u64,
    log_format: (&'static str, LogFormat),
    ingest: Vec<String>,
    support: Vec<String>,
    secret: String,
    leeway_s: u64,
    timezone: &'static str,
    at_risk_after: u32,
    overdue_after: u32,
    sweep_ms: u64,
    extra: BTreeMap<String, u32>,
}

impl Generated {
    fn toml(&self) -> String {
        let list = |items: &[String]| items.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(", ");
        let extra = self.extra.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ");
        format!(
            "listen = \"127.0.0.1:{}\"\nkey_prefix = {:?}\nstore_timeout = \"{}ms\"\nlog_format = {:?}\n\
             [auth]\ningest_tokens = [{}]\nsupport_tokens = [{}]\nuser_jwt_secret = {:?}\njwt_leeway = \"{}s\"\n\
             [sla]\ntimezone = {:?}\nat_risk_after = {}\noverdue_after = {}\nsweep_interval = \"{}ms\"\n\
             extra_working_days = {{ {} }}\n",
            self.port,
            self.key_prefix,
            self.store_timeout_ms,
            self.log_format.0,
            list(&self.ingest),
            list(&self.support),
            self.secret,
            self.leeway_s,
            self.timezone,
            self.at_risk_after,
            self.overdue_after,
            self.sweep_ms,
            extra,
        )
    }
}

fn valid_config() -> impl Strategy<Value = Generated> {
    let log_format =
        prop_oneof![Just(("json", LogFormat::Json)), Just(("text", LogFormat::Text)), Just(("auto", LogFormat::Auto))];
    let network = proptest::sample::select(Network::ALL.iter().map(|n| n.code().to_owned()).collect::<Vec<_>>());
    (
        (any::<u16>(), "[A-Za-z0-9_.:-]{1,32}", 1u64..100_000, log_format),
        (
            proptest::collection::vec("i[A-Za-z0-9!#-&(-/:-@^_|~]{15,40}", 0..3),
            proptest::collection::vec("s[A-Za-z0-9!#-&(-/:-@^_|~]{15,40}", 0..3),
            "[ -~]{32,64}",
            0u64..=60,
        ),
        (
            proptest::sample::select(vec!["UTC", "Asia/Shanghai", "America/New_York", "Europe/London"]),
            0u32..5,
            0u32..5,
            100u64..600_000,
            proptest::collection::btree_map(network, 0u32..5, 0..4),
        ),
    )
        .prop_map(
            |((port, key_prefix, store_timeout_ms, log_format), (ingest, support, secret, leeway_s), sla)| {
                let (timezone, at_risk_after, more, sweep_ms, extra) = sla;
                Generated {
                    port,
                    key_prefix,
                    store_timeout_ms,
                    log_format,
                    ingest,
                    support,
                    secret,
                    leeway_s,
                    timezone,
                    at_risk_after,
                    overdue_after: at_risk_after + more,
                    sweep_ms,
                    extra,
                }
            },
        )
}

/// Lines that look like our config, some right, some not: known and unknown
/// keys, tables, values of every TOML type, and plain noise.
fn toml_ish() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        proptest::sample::select(vec![
            "listen",
            "redis_url",
            "key_prefix",
            "store_timeout",
            "metrics_listen",
            "log_format",
            "ingest_tokens",
            "support_tokens",
            "user_jwt_secret",
            "jwt_leeway",
            "timezone",
            "weekend",
            "working_hours",
            "holidays",
            "make_up_workdays",
            "calendars",
            "at_risk_after",
            "overdue_after",
            "extra_working_days",
            "sweep_interval",
            "escalate_again_after",
            "sink",
            "url",
            "secret",
            "max_attempts",
            "timeout",
            "base_url",
            "api_token",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,12}",
    ];
    let value = prop_oneof![
        "\"[ -!#-\\[\\]-~]{0,40}\"",
        any::<i64>().prop_map(|n| n.to_string()),
        "[0-9]{1,6}(ms|s|m|h|d)?".prop_map(|v| format!("{v:?}")),
        Just("true".to_owned()),
        Just("[\"a\", 1]".to_owned()),
        Just("[\"sat\", \"sun\", \"funday\"]".to_owned()),
        Just("{ DOGE = 1, MOON = 2 }".to_owned()),
        Just("1.5e300".to_owned()),
        Just("1979-05-27T07:32:00Z".to_owned()),
    ];
    let line = prop_oneof![
        4 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => proptest::sample::select(vec!["[auth]", "[sla]", "[tickets]", "[tickets.jira]", "[tickets.zendesk]", "[other]", "[[auth]]"]).prop_map(str::to_owned),
        1 => ".{0,30}",
    ];
    proptest::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn valid_random_configs_round_trip(g in valid_config()) {
        let text = g.toml();
        let config = check(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(config.listen_addr().unwrap().port(), g.port);
        prop_assert_eq!(&config.key_prefix, &g.key_prefix);
        prop_assert_eq!(config.store_timeout.0, Duration::from_millis(g.store_timeout_ms));
        prop_assert_eq!(config.log_format, g.log_format.1);
        let exposed = |tokens: &[Secret]| tokens.iter().map(|t| t.expose().to_owned()).collect::<Vec<_>>();
        prop_assert_eq!(exposed(&config.auth.ingest_tokens), g.ingest.clone());
        prop_assert_eq!(exposed(&config.auth.support_tokens), g.support.clone());
        prop_assert_eq!(config.auth.user_jwt_secret.expose(), g.secret.as_str());
        prop_assert_eq!(config.auth.jwt_leeway.0, Duration::from_secs(g.leeway_s));
        prop_assert_eq!(config.sla.timezone.as_str(), g.timezone);
        prop_assert_eq!((config.sla.at_risk_after, config.sla.overdue_after), (g.at_risk_after, g.overdue_after));
        prop_assert_eq!(config.sla.sweep_interval.0, Duration::from_millis(g.sweep_ms));
        prop_assert_eq!(&config.sla.extra_working_days, &g.extra);
        // Secrets never show in Debug output.
        let shown = format!("{config:?}");
        prop_assert!(!shown.contains(&g.secret));
    }

    /// One bad value in an otherwise valid file: the error names that key.
    #[test]
    fn one_bad_value_is_named(g in valid_config(), pick in 0usize..7, noise in "[a-z ]{0,10}", n in 61u64..100_000) {
        let mut bad = g.clone();
        let key = match pick {
            0 => { bad.key_prefix = format!("{} {}", g.key_prefix, noise); "key_prefix" }
            1 => { bad.key_prefix = "k".repeat(33 + noise.len()); "key_prefix" }
            2 => { bad.secret = g.secret[..(n as usize % 32)].to_owned(); "auth.user_jwt_secret" }
            3 => { bad.leeway_s = n; "auth.jwt_leeway" }
            4 => { bad.ingest = vec![format!("i{}", &noise.replace(' ', "")[..noise.replace(' ', "").len().min(14)])]; "auth.ingest_tokens[0]" }
            5 => { bad.at_risk_after = g.overdue_after + 1 + (n as u32 % 5); "sla.at_risk_after" }
            _ => { bad.sweep_ms = n % 100; "sla.sweep_interval" }
        };
        let errors = check(&bad.toml()).unwrap_err();
        prop_assert_eq!(errors.len(), 1, "{}", errors);
        let err = errors.iter().next().unwrap();
        prop_assert!(matches!(err, ConfigError::Invalid { .. }), "{}", err);
        prop_assert!(err.to_string().contains(key), "expected {} in {}", key, err);
    }

    #[test]
    fn arbitrary_toml_ish_text_never_panics(text in toml_ish()) {
        let errors = match check(&text) {
            Ok(config) => {
                prop_assert!(config.listen_addr().is_ok());
                return Ok(());
            }
            Err(errors) => errors,
        };
        prop_assert!(!errors.is_empty());
        for error in errors {
            match error {
                ConfigError::Invalid { key, message } => {
                    prop_assert!(!key.is_empty() && !message.is_empty());
                }
                ConfigError::Parse { message, .. } => {
                    // Past the syntax, every refusal names the key or field at fault.
                    if let Ok(table) = toml::from_str::<toml::Table>(&text) {
                        // toml quotes the offending line, so a nested key shows there.
                        let line_keys = text.lines().filter_map(|l| l.split_once('=')).map(|(k, _)| k.trim());
                        let names_a_key = message.contains('`')
                            || table.keys().any(|k| message.contains(k.as_str()))
                            || line_keys.filter(|k| !k.is_empty()).any(|k| message.contains(k));
                        prop_assert!(names_a_key, "{}\n--- for ---\n{}", message, text);
                    }
                }
                other => prop_assert!(false, "unexpected error {}", other),
            }
        }
    }
}

#[test]
fn sidecar_serves_dot_and_sui_graphql_serves_sui_both_final_at_one_confirmation() {
    let text = format!(
        "{GOOD}\n[networks.DOT]\nexplorer = \"sidecar\"\nurls = [\"http://sidecar\"]\n\
         [networks.DOT.tokens.USDT]\ncontract = \"1984\"\ndecimals = 6\n\
         [networks.SUI]\nexplorer = \"sui_graphql\"\nurls = [\"http://sui/graphql\"]\n"
    );
    let settings = Config::parse_toml(&text, "t").unwrap().settings().unwrap();
    let (dot, sui) = (&settings.networks[&Network::Dot], &settings.networks[&Network::Sui]);
    assert_eq!((dot.explorer, dot.required_confirmations), (ExplorerKind::Sidecar, 1));
    assert_eq!((sui.explorer, sui.required_confirmations), (ExplorerKind::SuiGraphql, 1));
    assert_eq!((dot.explorer.as_str(), sui.explorer.as_str()), ("sidecar", "sui_graphql"));
    for (code, explorer) in [("SUI", "sidecar"), ("DOT", "sui_graphql"), ("ETH", "sidecar")] {
        let text = format!("{GOOD}\n[networks.{code}]\nexplorer = \"{explorer}\"\nurls = [\"http://x\"]");
        let err = check(&text).unwrap_err().to_string();
        assert!(err.contains(&format!("networks.{code}.explorer")), "{code} on {explorer}: {err}");
    }
}

#[test]
fn horizon_follows_stellar_and_toncenter_follows_ton_only() {
    let text = format!(
        "{GOOD}\n[networks.XLM]\nexplorer = \"horizon\"\nurls = [\"https://horizon.stellar.org\"]\n\
         [networks.TON]\nexplorer = \"toncenter\"\nurls = [\"https://toncenter.com\"]\n\
         api_key_header = \"X-API-Key\"\napi_key = \"k\"\n"
    );
    let settings = check(&text).unwrap().settings().unwrap();
    assert_eq!(
        (settings.networks[&Network::Xlm].explorer, settings.networks[&Network::Xlm].required_confirmations),
        (ExplorerKind::Horizon, 1),
        "a closed ledger is final"
    );
    assert_eq!(settings.networks[&Network::Ton].explorer, ExplorerKind::Toncenter);
    assert_eq!((ExplorerKind::Horizon.as_str(), ExplorerKind::Toncenter.as_str()), ("horizon", "toncenter"));
    let misfits = format!(
        "{GOOD}\n[networks.BTC]\nexplorer = \"horizon\"\nurls = [\"http://a\"]\n\
         [networks.XLM]\nexplorer = \"toncenter\"\nurls = [\"http://b\"]\n"
    );
    let errors = check(&misfits).unwrap_err();
    assert_eq!(errors.keys(), ["networks.BTC.explorer", "networks.XLM.explorer"], "{errors}");
}

#[test]
fn incidents_default_on_and_their_bad_values_are_named() {
    let settings = Config::parse_toml(GOOD, "test.toml").unwrap().settings().unwrap();
    assert_eq!(settings.incidents, crate::domain::incident::IncidentRules::default());
    let tuned = format!("{GOOD}\n[incidents]\nautomatic = false\nmin_overdue = 3\nsettle_for = \"1m\"\n");
    let settings = Config::parse_toml(&tuned, "test.toml").unwrap().settings().unwrap();
    assert!(!settings.incidents.automatic);
    assert_eq!((settings.incidents.min_overdue, settings.incidents.settle_for), (3, Duration::from_secs(60)));
    let bad = format!("{GOOD}\n[incidents]\nmin_overdue = 0\nupdate_interval = \"0\"\n");
    let err = check(&bad).unwrap_err().to_string();
    assert!(err.contains("incidents.min_overdue") && err.contains("incidents.update_interval"), "{err}");
    let halted =
        format!("{GOOD}\n[networks.BTC]\nexplorer = \"esplora\"\nurls = [\"https://x\"]\nhalted_after = \"30m\"\n");
    let settings = Config::parse_toml(&halted, "test.toml").unwrap().settings().unwrap();
    assert_eq!(settings.networks[&Network::Btc].halted_after, Some(Duration::from_secs(1800)));
}

#[test]
fn near_rpc_follows_near_with_its_senders_and_cosmos_rest_follows_atom() {
    let text = format!(
        "{GOOD}\n[networks.NEAR]\nexplorer = \"near_rpc\"\nurls = [\"https://rpc.mainnet.near.org\"]\n\
         senders = [\"hot.exchange.near\"]\n\
         [networks.ATOM]\nexplorer = \"cosmos_rest\"\nurls = [\"https://cosmos-rest.publicnode.com\"]\n"
    );
    let settings = check(&text).unwrap().settings().unwrap();
    let (near, atom) = (&settings.networks[&Network::Near], &settings.networks[&Network::Atom]);
    assert_eq!((near.explorer, near.required_confirmations), (ExplorerKind::NearRpc, 1));
    assert_eq!(near.senders, ["hot.exchange.near"]);
    assert_eq!((atom.explorer, atom.required_confirmations), (ExplorerKind::CosmosRest, 1), "committed is final");
    assert_eq!((near.explorer.as_str(), atom.explorer.as_str()), ("near_rpc", "cosmos_rest"));
    let misfits = format!(
        "{GOOD}\n[networks.ATOM]\nexplorer = \"near_rpc\"\nurls = [\"http://a\"]\nsenders = [\"a.near\"]\n\
         [networks.NEAR]\nexplorer = \"near_rpc\"\nurls = [\"http://b\"]\n\
         [networks.XLM]\nexplorer = \"cosmos_rest\"\nurls = [\"http://c\"]\n\
         [networks.TON]\nexplorer = \"toncenter\"\nurls = [\"http://d\"]\nsenders = [\"Not An Account\"]\n"
    );
    let errors = check(&misfits).unwrap_err();
    assert_eq!(
        errors.keys(),
        ["networks.ATOM.explorer", "networks.NEAR.senders", "networks.TON.senders[0]", "networks.XLM.explorer"],
        "NEAR looks a transaction up under its signer: {errors}"
    );
}
