//! The settings: flags, environment, TOML file, precedence, and secrets never printed.

use super::*;
use std::io::Write;

fn args(list: &[&str]) -> Vec<String> {
    std::iter::once("agora")
        .chain(list.iter().copied())
        .map(String::from)
        .collect()
}

fn file(contents: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file
}

#[test]
fn defaults_and_flags() {
    let settings = Settings::load_from(args(&[])).unwrap();
    assert_eq!(settings.port, 3000);
    assert_eq!(settings.ping_interval_ms, 25_000);
    let settings = Settings::load_from(args(&[
        "--port",
        "4000",
        "--allowed-origin",
        "https://a.example",
        "--allowed-origin",
        "https://b.example",
    ]))
    .unwrap();
    assert_eq!(settings.port, 4000);
    assert_eq!(settings.allowed_origins.len(), 2);
}

#[test]
fn a_file_sets_what_flags_do_not() {
    let config = file("port = 5000\nping_timeout_ms = 9000\nallowed-origin = [\"https://x.example\"]\nlog_format = \"json\"\nparser = \"msgpack\"\n");
    let path = config.path().display().to_string();
    let settings = Settings::load_from(args(&["--config", &path, "--port", "6000"])).unwrap();
    assert_eq!(settings.port, 6000, "a flag beats the file");
    assert_eq!(settings.ping_timeout_ms, 9000);
    assert_eq!(
        settings.allowed_origins,
        vec!["https://x.example".to_string()]
    );
    assert_eq!(settings.log_format, LogFormat::Json);
    assert_eq!(settings.socket_io().parser, WireParser::Msgpack);
    let flag = Settings::load_from(args(&["--parser", "msgpack"])).unwrap();
    assert_eq!(flag.parser, WireParser::Msgpack);
    assert!(Settings::load_from(args(&["--parser", "cbor"])).is_err());
}

#[test]
fn bad_values_name_the_setting() {
    let error = Settings::load_from(args(&["--port", "seventy"])).unwrap_err();
    assert!(error.to_string().contains("--port"), "{error}");
    let error = Settings::load_from(args(&["--ping-interval-ms", "5"])).unwrap_err();
    assert!(error.to_string().contains("--ping-interval-ms"), "{error}");
    let unknown = file("colour = \"blue\"\n");
    let path = unknown.path().display().to_string();
    let error = Settings::load_from(args(&["--config", &path])).unwrap_err();
    assert!(error.to_string().contains("`colour`"), "{error}");
    let bad = file("port = \"many\"\n");
    let path = bad.path().display().to_string();
    let error = Settings::load_from(args(&["--config", &path])).unwrap_err();
    assert!(error.to_string().contains("--port"), "{error}");
    let broken = file("port = \n");
    let path = broken.path().display().to_string();
    assert!(matches!(
        Settings::load_from(args(&["--config", &path])),
        Err(ConfigError::Parse { .. })
    ));
    assert!(matches!(
        Settings::load_from(args(&["--config", "/nonexistent/agora.toml"])),
        Err(ConfigError::Read { .. })
    ));
}

#[test]
fn boolean_settings_work_bare_with_a_value_and_from_a_file() {
    let parse = |list: &[&str]| Settings::load_from(args(list)).unwrap();
    assert_eq!(parse(&[]).secure_cookies, SecureCookies::Auto);
    assert_eq!(
        parse(&["--secure-cookies"]).secure_cookies,
        SecureCookies::Always
    );
    assert_eq!(
        parse(&["--secure-cookies", "--port", "1"]).secure_cookies,
        SecureCookies::Always
    );
    assert_eq!(
        parse(&["--secure-cookies=false"]).secure_cookies,
        SecureCookies::Never
    );
    assert_eq!(
        parse(&["--secure-cookies", "true"]).secure_cookies,
        SecureCookies::Always
    );
    assert_eq!(
        parse(&["--secure-cookies=auto"]).secure_cookies,
        SecureCookies::Auto
    );
    assert!(parse(&["--print-config"]).print_config);
    assert!(!parse(&["--print-config=false"]).print_config);
    assert!(
        parse(&["--per-message-deflate"])
            .engine()
            .per_message_deflate
    );
    assert!(!parse(&[]).engine().per_message_deflate);
    for (line, expected) in [
        ("secure_cookies = true", SecureCookies::Always),
        ("secure-cookies = false", SecureCookies::Never),
        ("secure_cookies = \"auto\"", SecureCookies::Auto),
    ] {
        let config = file(&format!("{line}\n"));
        let path = config.path().display().to_string();
        assert_eq!(
            parse(&["--config", &path]).secure_cookies,
            expected,
            "{line}"
        );
    }
    let error = Settings::load_from(args(&["--secure-cookies=maybe"])).unwrap_err();
    assert!(error.to_string().contains("--secure-cookies"), "{error}");
}

#[test]
fn every_setting_takes_a_value() {
    // A file's `key = true` becomes `--key=true`, which a plain switch (clap's `SetTrue`)
    // refuses: a boolean must be `num_args = 0..=1, default_missing_value = "true",
    // action = ArgAction::Set` like `--print-config` and `--secure-cookies`.
    for arg in Settings::command().get_arguments() {
        let id = arg.get_id().as_str();
        if matches!(id, "help" | "version") {
            continue;
        }
        assert!(arg.get_action().takes_values(), "--{id} is a plain switch");
    }
}

#[test]
fn trusted_proxies_from_flags_and_file() {
    let settings = Settings::load_from(args(&[
        "--trusted-proxy",
        "10.0.0.0/8",
        "--trusted-proxy",
        "::1",
    ]))
    .unwrap();
    let shown: Vec<String> = settings
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(shown, ["10.0.0.0/8", "::1/128"]);
    assert!(Settings::defaults().trusted_proxies.is_empty());
    let config = file("trusted_proxy = [\"172.28.0.0/16\"]\n");
    let path = config.path().display().to_string();
    let settings = Settings::load_from(args(&["--config", &path])).unwrap();
    assert_eq!(settings.trusted_proxies.len(), 1);
    let error = Settings::load_from(args(&["--trusted-proxy", "10.0.0.1/8"])).unwrap_err();
    assert!(error.to_string().contains("--trusted-proxy"), "{error}");
}

#[test]
fn printed_settings_read_back_as_a_file() {
    let settings = Settings::load_from(args(&[
        "--allowed-origin",
        "https://a.example",
        "--trusted-proxy",
        "10.0.0.0/8",
        "--secure-cookies=false",
        "--port",
        "4200",
    ]))
    .unwrap();
    let config = file(&settings.to_toml());
    let path = config.path().display().to_string();
    let again = Settings::load_from(args(&["--config", &path])).unwrap();
    assert_eq!(again.to_toml(), settings.to_toml());
}

#[test]
fn api_keys_from_flags_and_file_are_never_printed() {
    let (a, b) = ("key-a-0123456789abcdef", "key-b-0123456789abcdef");
    let settings = Settings::load_from(args(&["--api-key", a, "--api-key", b])).unwrap();
    assert_eq!(settings.api_keys.len(), 2);
    let shown = format!("{} {settings:?}", settings.to_toml());
    assert!(!shown.contains(a) && !shown.contains(b), "{shown}");
    let config = file(&format!("api_key = [\"{a}\"]\n"));
    let path = config.path().display().to_string();
    let settings = Settings::load_from(args(&["--config", &path])).unwrap();
    assert_eq!(settings.api_keys, vec![ApiKey::parse(a).unwrap()]);
    let error = Settings::load_from(args(&["--api-key", "short-secret"])).unwrap_err();
    let shown = error.to_string();
    assert!(
        shown.contains("--api-key") && !shown.contains("short-secret"),
        "{shown}"
    );
}

#[test]
fn prints_the_effective_settings() {
    let settings = Settings::load_from(args(&["--port", "4100"])).unwrap();
    let text = settings.to_toml();
    assert!(text.contains("port = 4100"), "{text}");
    let reparsed: toml::Table = text.parse().unwrap();
    assert!(reparsed.contains_key("database_url"));
}

#[test]
fn admin_settings_from_flags_and_file_never_printed() {
    assert!(Settings::defaults().admin().is_none());
    let settings = Settings::load_from(args(&[
        "--admin-user",
        "root",
        "--admin-password",
        "hunter2",
        "--admin-readonly",
    ]))
    .unwrap();
    let admin = settings.admin().unwrap();
    assert_eq!(
        (admin.username.as_str(), admin.password.as_str()),
        ("root", "hunter2")
    );
    assert!(admin.readonly);
    let text = settings.to_toml();
    assert!(
        !text.contains("hunter2") && !text.contains("root"),
        "{text}"
    );
    assert!(Settings::load_from(args(&["--admin-user", "root"])).is_err());
    let config = file("admin_user = \"ops\"\nadmin_password = \"pw\"\n");
    let path = config.path().display().to_string();
    let settings = Settings::load_from(args(&["--config", &path])).unwrap();
    assert_eq!(settings.admin().unwrap().username, "ops");
    assert!(!settings.admin().unwrap().readonly);
}
