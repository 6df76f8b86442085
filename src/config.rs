//! Typed configuration. Precedence: command-line flags > `KEFU_*` environment
//! variables > `kefu.toml` in the data folder > defaults in code. The data
//! folder itself comes from the flag, the environment or the default, since the
//! file lives inside it.

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
pub const DEFAULT_DATA: &str = "./kefu-data";
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";
pub const CONFIG_FILE: &str = "kefu.toml";

/// Every environment variable kefu reads; others starting with `KEFU_` are warned about.
pub const KNOWN_ENV: &[&str] = &[
    "KEFU_LISTEN",
    "KEFU_DATA",
    "KEFU_BASE_URL",
    "KEFU_LOG_FORMAT",
    "KEFU_LOG",
    "KEFU_TIMEZONE",
    "KEFU_TLS_CERT",
    "KEFU_TLS_KEY",
    "KEFU_TRUST_PROXY",
    "KEFU_TRUSTED_PROXIES",
    "KEFU_VENDOR_DIR",
    "KEFU_WECHAT_API_BASE",
];

#[derive(Parser, Debug)]
#[command(
    name = "kefu",
    version,
    about = "kefu 客服 — customer service for WeChat Official Accounts, in one binary",
    long_about = "kefu 客服 — a customer-service appliance for WeChat Official Accounts.\n\n\
        With no command it serves the web console and the WeChat webhook. Every option \
        can also be set by its KEFU_* environment variable or in kefu.toml inside the \
        data folder (flags > environment > file > defaults)."
)]
pub struct Cli {
    #[command(flatten)]
    pub opts: Opts,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Default, Clone)]
pub struct Opts {
    /// Address and port to listen on [default: 0.0.0.0:8080]
    #[arg(long, env = "KEFU_LISTEN", global = true, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// Data folder: database, media, kefu.toml; created if missing [default: ./kefu-data]
    #[arg(long, env = "KEFU_DATA", global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Public URL of this server, e.g. https://kefu.example.com (shown as the webhook
    /// address; https also marks cookies Secure)
    #[arg(long, env = "KEFU_BASE_URL", global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Log format [default: text]
    #[arg(long, env = "KEFU_LOG_FORMAT", global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. "info" or "info,kefu=debug" [default: info]
    #[arg(long, env = "KEFU_LOG", global = true, value_name = "FILTER")]
    pub log: Option<String>,
    /// Time zone for displayed times [default: Asia/Shanghai]
    #[arg(long, env = "KEFU_TIMEZONE", global = true, value_name = "IANA")]
    pub timezone: Option<String>,
    /// PEM certificate chain: serve HTTPS directly (needs --tls-key)
    #[arg(long, env = "KEFU_TLS_CERT", global = true, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert
    #[arg(long, env = "KEFU_TLS_KEY", global = true, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Reverse proxies whose X-Forwarded-For is believed: comma-separated
    /// addresses or CIDRs, or `loopback` (127.0.0.1 and ::1) [default: none]
    #[arg(long, env = "KEFU_TRUSTED_PROXIES", global = true, value_name = "LIST")]
    pub trusted_proxies: Option<String>,
    /// Deprecated: the same as --trusted-proxies loopback
    #[arg(long, env = "KEFU_TRUST_PROXY", global = true, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    pub trust_proxy: Option<bool>,
    /// WeChat API base URL; tests and the simulator point it at a fake
    /// [default: https://api.weixin.qq.com]
    #[arg(long, env = "KEFU_WECHAT_API_BASE", global = true, value_name = "URL")]
    pub wechat_api_base: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the console and the webhook (what `kefu` alone does)
    Serve,
    /// Manage user accounts from the shell
    #[command(subcommand)]
    User(UserCommand),
    /// Bind and list WeChat Official Accounts from the shell
    #[command(subcommand)]
    Account(AccountCommand),
    /// Copy the database to FILE with SQLite's online backup (safe while serving)
    Backup {
        /// Where to write the copy
        file: PathBuf,
    },
    /// Exit 0 when the local server answers /healthz (for Docker and systemd)
    Healthcheck,
    /// Fill an empty data folder with a realistic volume of made-up traffic
    /// (benches, trying the reports); every user's password is --password
    #[command(hide = true)]
    Fixture {
        #[arg(long, default_value_t = 100_000)]
        conversations: usize,
        #[arg(long, default_value_t = 1_000_000)]
        messages: usize,
        #[arg(long, default_value_t = 90)]
        days: i64,
        #[arg(long, default_value = "fixture-pass-1")]
        password: String,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user
    Add {
        /// Login name
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Name shown in the console [default: the login name]
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input instead of prompting
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password
    Passwd {
        name: String,
        /// Read the password from standard input instead of prompting
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users
    List,
}

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Bind an Official Account; prints its id and the webhook URL for WeChat
    Add {
        /// Name shown in kefu
        #[arg(long)]
        name: String,
        /// AppID（开发者ID）
        #[arg(long)]
        appid: String,
        /// AppSecret（开发者密码）
        #[arg(long)]
        secret: String,
        /// Token（令牌）, 3–32 letters or digits
        #[arg(long)]
        token: String,
        /// EncodingAESKey（消息加解密密钥）, 43 characters; required unless --mode plain
        #[arg(long)]
        aes_key: Option<String>,
        /// Message mode: plain（明文）, compat（兼容） or safe（安全，recommended）
        #[arg(long, value_enum, default_value = "safe")]
        mode: ModeArg,
        /// Simulation mode: API calls go to kefu's built-in fake WeChat (for trying kefu out)
        #[arg(long)]
        simulation: bool,
    },
    /// List bound accounts and their webhook URLs
    List,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeArg {
    Plain,
    Compat,
    Safe,
}

impl ModeArg {
    pub fn as_str(self) -> &'static str {
        match self {
            ModeArg::Plain => "plain",
            ModeArg::Compat => "compat",
            ModeArg::Safe => "safe",
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleArg {
    Agent,
    Admin,
    SuperAdmin,
}

impl From<RoleArg> for crate::model::Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Agent => crate::model::Role::Agent,
            RoleArg::Admin => crate::model::Role::Admin,
            RoleArg::SuperAdmin => crate::model::Role::SuperAdmin,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `kefu.toml`: the same options as the flags, minus the data folder.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub base_url: Option<String>,
    pub log_format: Option<LogFormat>,
    pub log: Option<String>,
    pub timezone: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub trust_proxy: Option<bool>,
    pub trusted_proxies: Option<String>,
    pub wechat_api_base: Option<String>,
}

/// The resolved configuration the server runs with.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub base_url: Option<String>,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub timezone: jiff::tz::TimeZone,
    pub timezone_name: String,
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Peers whose `X-Forwarded-For` names the client (none by default).
    pub trusted_proxies: TrustedProxies,
    pub wechat_api_base: String,
}

/// The reverse proxies whose `X-Forwarded-For` is believed: addresses and
/// CIDR blocks. Empty (the default) believes nobody.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(std::net::IpAddr, u8)>);

impl TrustedProxies {
    /// 127.0.0.0/8 and ::1: a proxy on this machine.
    pub fn loopback() -> TrustedProxies {
        TrustedProxies(vec![
            (std::net::Ipv4Addr::LOCALHOST.into(), 8),
            (std::net::Ipv6Addr::LOCALHOST.into(), 128),
        ])
    }

    /// `loopback`, `none`, or addresses and CIDRs (`10.0.0.5`, `172.16.0.0/12`,
    /// `fd00::/8`) separated by commas or spaces.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in text
            .split([',', ' '])
            .map(str::trim)
            .filter(|i| !i.is_empty())
        {
            match item {
                "loopback" => nets.extend(TrustedProxies::loopback().0),
                "none" => {}
                _ => {
                    let (addr, bits) = match item.split_once('/') {
                        Some((a, b)) => (a, Some(b)),
                        None => (item, None),
                    };
                    let ip: std::net::IpAddr = addr
                        .parse()
                        .map_err(|_| format!("{item:?} is not an address or CIDR"))?;
                    let max = if ip.is_ipv4() { 32 } else { 128 };
                    let bits = match bits {
                        None => max,
                        Some(b) => b
                            .parse::<u8>()
                            .ok()
                            .filter(|b| *b <= max)
                            .ok_or_else(|| format!("{item:?} has a bad prefix length"))?,
                    };
                    nets.push((ip, bits));
                }
            }
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a connection from `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|(net, bits)| match (net, ip) {
            (std::net::IpAddr::V4(n), std::net::IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*bits)).unwrap_or(0);
                u32::from(*n) & mask == u32::from(a) & mask
            }
            (std::net::IpAddr::V6(n), std::net::IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*bits)).unwrap_or(0);
                u128::from(*n) & mask == u128::from(a) & mask
            }
            _ => false,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("unknown time zone {0:?} (use an IANA name such as Asia/Shanghai)")]
    TimeZone(String),
    #[error("--base-url must start with http:// or https://, got {0:?}")]
    BaseUrl(String),
    #[error("--tls-cert and --tls-key must be given together")]
    TlsPair,
    #[error("--trusted-proxies: {0}")]
    TrustedProxies(String),
}

impl Config {
    /// Merges flags/environment (already combined by clap) with the file and defaults.
    pub fn resolve(opts: &Opts) -> Result<Config, ConfigError> {
        let data_dir = opts
            .data
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA));
        let file = read_file(&data_dir.join(CONFIG_FILE))?;
        Config::merge(opts, file, data_dir)
    }

    pub fn merge(opts: &Opts, file: FileConfig, data_dir: PathBuf) -> Result<Config, ConfigError> {
        let listen = opts.listen.or(file.listen).unwrap_or_else(|| {
            DEFAULT_LISTEN
                .parse()
                .expect("default listen address parses")
        });
        let base_url = opts
            .base_url
            .clone()
            .or(file.base_url)
            .map(|u| u.trim_end_matches('/').to_string());
        if let Some(u) = &base_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(ConfigError::BaseUrl(u.clone()));
            }
        }
        let timezone_name = opts
            .timezone
            .clone()
            .or(file.timezone)
            .unwrap_or_else(|| DEFAULT_TIMEZONE.into());
        let timezone = jiff::tz::TimeZone::get(&timezone_name)
            .map_err(|_| ConfigError::TimeZone(timezone_name.clone()))?;
        let tls = match (
            opts.tls_cert.clone().or(file.tls_cert),
            opts.tls_key.clone().or(file.tls_key),
        ) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => return Err(ConfigError::TlsPair),
        };
        Ok(Config {
            listen,
            data_dir,
            base_url,
            log_format: opts.log_format.or(file.log_format).unwrap_or_default(),
            log_filter: opts
                .log
                .clone()
                .or(file.log)
                .unwrap_or_else(|| "info".into()),
            timezone,
            timezone_name,
            tls,
            trusted_proxies: match opts
                .trusted_proxies
                .as_ref()
                .or(file.trusted_proxies.as_ref())
            {
                Some(list) => TrustedProxies::parse(list).map_err(ConfigError::TrustedProxies)?,
                // The old switch: a proxy on this machine.
                None if opts.trust_proxy.or(file.trust_proxy) == Some(true) => {
                    TrustedProxies::loopback()
                }
                None => TrustedProxies::default(),
            },
            wechat_api_base: opts
                .wechat_api_base
                .clone()
                .or(file.wechat_api_base)
                .unwrap_or_else(|| crate::wechat::api::DEFAULT_API_BASE.to_string()),
        })
    }

    /// Defaults for a data folder, as tests and subcommands use them.
    pub fn for_data_dir(data_dir: &Path) -> Config {
        Config::merge(
            &Opts::default(),
            FileConfig::default(),
            data_dir.to_path_buf(),
        )
        .expect("defaults are valid")
    }

    /// Where inbound and uploaded media files are kept.
    pub fn media_dir(&self) -> PathBuf {
        self.data_dir.join("media")
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("kefu.db")
    }

    /// Cookies get `Secure` when the public URL is https or kefu serves TLS itself.
    pub fn secure_cookies(&self) -> bool {
        self.tls.is_some()
            || self
                .base_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
    }

    /// The address WeChat and people reach this server at: the base URL, or the local one.
    pub fn public_url(&self) -> String {
        self.base_url.clone().unwrap_or_else(|| self.local_url())
    }

    /// The URL a local process uses to reach this server (for `kefu healthcheck`).
    pub fn local_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let ip = match self.listen.ip() {
            std::net::IpAddr::V4(v4) if v4.is_unspecified() => "127.0.0.1".to_string(),
            std::net::IpAddr::V6(v6) if v6.is_unspecified() => "[::1]".to_string(),
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            ip => ip.to_string(),
        };
        format!("{scheme}://{ip}:{}", self.listen.port())
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// `KEFU_*` variables in `vars` that kefu does not know (likely typos).
pub fn unknown_env(vars: impl Iterator<Item = String>) -> Vec<String> {
    vars.filter(|k| k.starts_with("KEFU_") && !KNOWN_ENV.contains(&k.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_file_beats_defaults() {
        let file: FileConfig = toml::from_str(
            "listen = \"127.0.0.1:9000\"\nbase_url = \"https://kefu.example.com/\"\ntimezone = \"Europe/Paris\"\n",
        )
        .unwrap();
        let opts = Opts {
            listen: Some("127.0.0.1:7000".parse().unwrap()),
            ..Default::default()
        };
        let c = Config::merge(&opts, file, "d".into()).unwrap();
        assert_eq!(c.listen.port(), 7000, "flag wins over file");
        assert_eq!(
            c.base_url.as_deref(),
            Some("https://kefu.example.com"),
            "file wins over default"
        );
        assert_eq!(c.timezone_name, "Europe/Paris");
        assert!(c.secure_cookies());

        let d = Config::for_data_dir(Path::new("x"));
        assert_eq!(d.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(d.timezone_name, "Asia/Shanghai");
        assert!(!d.secure_cookies());
        assert_eq!(d.local_url(), "http://127.0.0.1:8080");
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        let bad_tz = Opts {
            timezone: Some("Mars/Base".into()),
            ..Default::default()
        };
        assert!(matches!(
            Config::merge(&bad_tz, FileConfig::default(), "d".into()),
            Err(ConfigError::TimeZone(_))
        ));
        let half_tls = Opts {
            tls_cert: Some("c.pem".into()),
            ..Default::default()
        };
        assert!(matches!(
            Config::merge(&half_tls, FileConfig::default(), "d".into()),
            Err(ConfigError::TlsPair)
        ));
        assert!(
            toml::from_str::<FileConfig>("lisen = \"x\"").is_err(),
            "typos in kefu.toml are refused"
        );
        for bad in ["10.0.0.0/33", "proxy.example", "::1/129", "10.0.0.1/x"] {
            let opts = Opts {
                trusted_proxies: Some(bad.into()),
                ..Default::default()
            };
            assert!(
                matches!(
                    Config::merge(&opts, FileConfig::default(), "d".into()),
                    Err(ConfigError::TrustedProxies(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn trusted_proxies_are_addresses_and_blocks_nobody_by_default() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let resolve = |opts: Opts, file: FileConfig| {
            Config::merge(&opts, file, "d".into())
                .unwrap()
                .trusted_proxies
        };
        let none = resolve(Opts::default(), FileConfig::default());
        assert!(none.is_empty() && !none.contains(ip("127.0.0.1")));

        let lo = TrustedProxies::parse("loopback").unwrap();
        assert!(lo.contains(ip("127.0.0.1")) && lo.contains(ip("::1")));
        assert!(lo.contains(ip("::ffff:127.0.0.1")), "v4-mapped");
        assert!(!lo.contains(ip("10.0.0.1")) && !lo.contains(ip("172.17.0.1")));

        let nets = TrustedProxies::parse("172.16.0.0/12, 10.1.2.3 fd00::/8").unwrap();
        assert!(nets.contains(ip("172.17.0.1")) && nets.contains(ip("172.31.255.255")));
        assert!(!nets.contains(ip("172.32.0.1")));
        assert!(nets.contains(ip("10.1.2.3")) && !nets.contains(ip("10.1.2.4")));
        assert!(nets.contains(ip("fd12::1")) && !nets.contains(ip("fe80::1")));
        assert!(
            TrustedProxies::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("8.8.8.8"))
        );

        // The deprecated switch means a proxy on this machine; the list wins.
        let old = Opts {
            trust_proxy: Some(true),
            ..Default::default()
        };
        assert_eq!(resolve(old, FileConfig::default()), lo);
        let file = FileConfig {
            trusted_proxies: Some("10.0.0.0/8".into()),
            trust_proxy: Some(true),
            ..Default::default()
        };
        assert!(resolve(Opts::default(), file).contains(ip("10.9.9.9")));
    }

    #[test]
    fn unknown_kefu_variables_are_reported() {
        let vars = ["KEFU_LISTEN", "KEFU_LISTN", "PATH"].map(String::from);
        assert_eq!(
            unknown_env(vars.into_iter()),
            vec!["KEFU_LISTN".to_string()]
        );
    }

    #[test]
    fn env_and_flags_parse_through_clap() {
        let cli = Cli::try_parse_from([
            "kefu",
            "--listen",
            "127.0.0.1:1",
            "user",
            "add",
            "amy",
            "--role",
            "super-admin",
        ])
        .unwrap();
        assert_eq!(cli.opts.listen.unwrap().port(), 1);
        assert!(matches!(
            cli.command,
            Some(Command::User(UserCommand::Add {
                role: RoleArg::SuperAdmin,
                ..
            }))
        ));
        assert!(Cli::try_parse_from(["kefu"]).unwrap().command.is_none());
    }
}
