//! Reads config and runs the service; everything else lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use withdrawal_tracker::auth::mint_user_jwt;
use withdrawal_tracker::config::Config;
use withdrawal_tracker::logging;
use withdrawal_tracker::startup::Application;

/// A request allocates a few dozen small, short-lived blocks (the view's
/// strings, its JSON, the log line); mimalloc served them for less CPU than
/// glibc's allocator (with the release profile: a third less CPU per `GET`,
/// docs/PERFORMANCE.md, "Session 10").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
usage:
  withdrawal-tracker [--config PATH]                 run the service
  withdrawal-tracker check-config [--config PATH]    validate a config file and exit
  withdrawal-tracker mint-user-token --user ID [--ttl-seconds N] [--config PATH]
                                                     print a user JWT signed with auth.user_jwt_secret
  withdrawal-tracker mint-status-link --withdrawal ID [--ttl 7d] [--time-zone ZONE] [--config PATH]
                                                     print a /status/{link} path signed with console.status_link_secret
  withdrawal-tracker healthcheck [--url URL] [--config PATH]
                                                     exit 0 if GET /healthz answers 200 (for container HEALTHCHECK)
The config path may also come from TRACKER_CONFIG.";

enum Command {
    Serve,
    CheckConfig,
    Healthcheck,
    MintUserToken { user: String, ttl_seconds: i64 },
    MintStatusLink { withdrawal: String, ttl: Option<String>, time_zone: Option<String> },
}

struct Args {
    command: Command,
    config: Option<PathBuf>,
    url: Option<String>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut command = Command::Serve;
    let mut config = None;
    let mut user = None;
    let mut url = None;
    let mut ttl_seconds = 3600;
    let mut withdrawal = None;
    let mut ttl = None;
    let mut time_zone = None;
    let mut first = true;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "check-config" if first => command = Command::CheckConfig,
            "healthcheck" if first => command = Command::Healthcheck,
            "--url" => url = Some(args.next().ok_or("--url needs a URL")?),
            "mint-user-token" if first => command = Command::MintUserToken { user: String::new(), ttl_seconds: 0 },
            "mint-status-link" if first => {
                command = Command::MintStatusLink { withdrawal: String::new(), ttl: None, time_zone: None }
            }
            "--withdrawal" => withdrawal = Some(args.next().ok_or("--withdrawal needs an id")?),
            "--ttl" => ttl = Some(args.next().ok_or("--ttl needs a duration such as 7d")?),
            "--time-zone" => time_zone = Some(args.next().ok_or("--time-zone needs an IANA zone")?),
            "--config" => config = Some(PathBuf::from(args.next().ok_or("--config needs a path")?)),
            "--user" => user = Some(args.next().ok_or("--user needs an id")?),
            "--ttl-seconds" => {
                ttl_seconds = args.next().and_then(|v| v.parse().ok()).ok_or("--ttl-seconds needs a number")?
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
        first = false;
    }
    if let Command::MintUserToken { .. } = command {
        let user = user.ok_or("mint-user-token needs --user ID")?;
        command = Command::MintUserToken { user, ttl_seconds };
    }
    if let Command::MintStatusLink { .. } = command {
        let withdrawal = withdrawal.ok_or("mint-status-link needs --withdrawal ID")?;
        command = Command::MintStatusLink { withdrawal, ttl, time_zone };
    }
    Ok(Args { command, config, url })
}

#[actix_web::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(problem) => {
            if !problem.is_empty() {
                eprintln!("error: {problem}");
            }
            eprintln!("{USAGE}");
            return if problem.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) };
        }
    };
    if let (Command::Healthcheck, Some(url)) = (&args.command, &args.url) {
        return healthcheck(url);
    }
    // Every problem in the file, one line each, before anything starts.
    let settings = match Config::load(args.config.as_deref()) {
        Ok(settings) => settings,
        Err(errors) => {
            for error in errors.iter() {
                eprintln!("error: {error}");
            }
            return ExitCode::from(2);
        }
    };
    match args.command {
        Command::Healthcheck => {
            let port = settings.listen.port();
            healthcheck(&format!("http://127.0.0.1:{port}/healthz"))
        }
        Command::CheckConfig => {
            println!("config ok");
            ExitCode::SUCCESS
        }
        Command::MintUserToken { user, ttl_seconds } => {
            let expires = chrono::Utc::now().timestamp() + ttl_seconds;
            println!("{}", mint_user_jwt(settings.auth.user_jwt_secret.expose(), &user, expires));
            ExitCode::SUCCESS
        }
        Command::MintStatusLink { withdrawal, ttl, time_zone } => {
            mint_status_link(&settings, &withdrawal, ttl, time_zone)
        }
        Command::Serve => {
            // Held to the end: dropping it flushes the lines still queued.
            let _log_writer = logging::init(settings.log_format, settings.log_buffer_lines);
            let result = match Application::build(settings).await {
                Ok(app) => app.run_until_stopped().await.map_err(|e| e.to_string()),
                Err(error) => Err(error.to_string()),
            };
            let dropped = logging::dropped_lines();
            if dropped > 0 {
                tracing::warn!(dropped, "log lines were dropped while the log writer was behind");
            }
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!(%error, "stopped");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Prints a status link path; the withdrawal is not looked up (the
/// `POST /v1/status-links` endpoint does that).
fn mint_status_link(
    settings: &withdrawal_tracker::config::Settings,
    withdrawal: &str,
    ttl: Option<String>,
    time_zone: Option<String>,
) -> ExitCode {
    let Some(console) = &settings.console else {
        eprintln!("error: the config has no [console] section (console.status_link_secret signs the links)");
        return ExitCode::from(2);
    };
    let id = match withdrawal_tracker::domain::WithdrawalId::parse(withdrawal) {
        Ok(id) => id,
        Err(error) => {
            eprintln!("error: --withdrawal: {}", error.message);
            return ExitCode::from(2);
        }
    };
    let ttl = match ttl.as_deref().map(withdrawal_tracker::config::HumanDuration::parse) {
        None => console.status_link_ttl,
        Some(Some(ttl)) if !ttl.is_zero() && ttl <= console.status_link_ttl => ttl,
        Some(_) => {
            eprintln!("error: --ttl must be a duration such as 3d, at most console.status_link_ttl");
            return ExitCode::from(2);
        }
    };
    let zone = match time_zone.as_deref().map(str::parse::<chrono_tz::Tz>) {
        None => None,
        Some(Ok(zone)) => Some(zone),
        Some(Err(_)) => {
            eprintln!("error: --time-zone must be an IANA zone such as Asia/Shanghai");
            return ExitCode::from(2);
        }
    };
    let expires_at = chrono::Utc::now() + ttl;
    let secret = console.status_link_secret.expose();
    println!("{}", withdrawal_tracker::web::status::mint_offline(secret, &id, expires_at, zone));
    ExitCode::SUCCESS
}

/// A dependency-free HTTP/1.0 GET, so the runtime image needs no curl.
fn healthcheck(url: &str) -> ExitCode {
    use std::io::{Read, Write};
    let Some(rest) = url.strip_prefix("http://") else {
        eprintln!("healthcheck: only http:// URLs");
        return ExitCode::from(2);
    };
    let (authority, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let timeout = std::time::Duration::from_secs(3);
    let answer = (|| -> std::io::Result<String> {
        let addr = std::net::ToSocketAddrs::to_socket_addrs(authority)?
            .next()
            .ok_or_else(|| std::io::Error::other("no address"))?;
        let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n")?;
        let mut response = String::new();
        stream.take(4096).read_to_string(&mut response)?;
        Ok(response)
    })();
    match answer {
        Ok(response) if response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200") => {
            ExitCode::SUCCESS
        }
        Ok(response) => {
            eprintln!("healthcheck: {}", response.lines().next().unwrap_or("no status line"));
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("healthcheck: {error}");
            ExitCode::FAILURE
        }
    }
}
