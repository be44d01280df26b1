#![allow(clippy::unwrap_used)]

use super::*;

/// The setting flags of `ringport serve`, parsed from `args`.
fn serve_flags(args: &[&str]) -> flags::Flags<flags::ForServe> {
    use clap::Parser;
    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        flags: flags::Flags<flags::ForServe>,
    }
    Serve::parse_from(std::iter::once("serve").chain(args.iter().copied())).flags
}

fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_example_is_complete_and_holds_the_defaults() {
    let example = render::example();
    let parsed = Config::parse(&example, "contrib/ringport.toml").unwrap();
    assert_eq!(parsed, Config::default());
    parsed.validate().unwrap();
    // Complete: every key of every section appears in it.
    let all = toml::Table::try_from(Config::default()).unwrap();
    let example: toml::Table = toml::from_str(&example).unwrap();
    for (section, keys) in &all {
        for key in keys.as_table().unwrap().keys() {
            assert!(
                example
                    .get(section)
                    .and_then(|s| s.as_table())
                    .is_some_and(|s| s.contains_key(key)),
                "{section}.{key} missing from the example"
            );
        }
    }
}

#[test]
fn a_file_overrides_only_what_it_names() {
    let c = Config::parse("[chat]\nrooms = 3\n[engine]\nbackend = \"poll\"\n", "f").unwrap();
    assert_eq!(c.chat.rooms, 3);
    assert_eq!(c.engine.backend, ringport_net::BackendChoice::Poll);
    assert_eq!(c.chat.room_max_users, 4);
    assert_eq!(c.server, ServerSection::default());
}

#[test]
fn unknown_keys_and_sections_name_the_key_and_the_file() {
    let e = Config::parse("[chat]\nroms = 3\n", "/etc/ringport.toml").unwrap_err();
    assert!(e.0.contains("/etc/ringport.toml"), "{e}");
    assert!(e.0.contains("roms"), "{e}");
    let e = Config::parse("[chatt]\nrooms = 3\n", "x.toml").unwrap_err();
    assert!(e.0.contains("x.toml") && e.0.contains("chatt"), "{e}");
}

#[test]
fn malformed_values_name_the_key_and_the_file() {
    for (text, key) in [
        ("[chat]\nrooms = \"ten\"\n", "rooms"),
        ("[chat]\nrooms = -1\n", "rooms"),
        ("[server]\nlisten = \"nowhere\"\n", "listen"),
        ("[engine]\nbackend = \"carrier-pigeon\"\n", "backend"),
        ("[admin]\nlisten = \"everywhere\"\n", "listen"),
        ("[log]\nformat = \"xml\"\n", "format"),
    ] {
        let e = Config::parse(text, "bad.toml").unwrap_err();
        assert!(e.0.contains("bad.toml"), "{text}: {e}");
        assert!(e.0.contains(key), "{text}: {e}");
    }
    let e = Config::parse("[chat\nrooms = 1", "broken.toml").unwrap_err();
    assert!(e.0.contains("broken.toml"), "{e}");
}

#[test]
fn out_of_range_values_name_the_key() {
    for (text, key) in [
        ("[chat]\nrooms = 0\n", "chat.rooms"),
        ("[chat]\nmax_frame = 4\n", "chat.max_frame"),
        ("[chat]\npipeline_frames = 0\n", "chat.pipeline_frames"),
        ("[chat]\npipeline_bytes = 0\n", "chat.pipeline_bytes"),
        ("[engine]\nrecv_buffers = 1000\n", "engine.recv_buffers"),
        ("[engine]\nmax_sessions = 0\n", "engine.max_sessions"),
        (
            "[engine]\nlinger_timeout_ms = 60001\n",
            "engine.linger_timeout_ms",
        ),
        ("[accounts]\nworkers = 0\n", "accounts.workers"),
        ("[admin]\nrequest_timeout = 0\n", "admin.request_timeout"),
        ("[admin]\nmax_request = 10\n", "admin.max_request"),
        ("[log]\nfilter = \"info,[[[\"\n", "log.filter"),
    ] {
        let e = Config::parse(text, "f").unwrap().validate().unwrap_err();
        assert!(e.0.contains(key), "{text}: {e}");
    }
}

#[test]
fn environment_overrides_the_file_and_is_typed_by_key() {
    let mut c = Config::parse("[chat]\nrooms = 3\nchat_rate = 5\n", "f").unwrap();
    c.apply_env(vars(&[
        ("RINGPORT_CHAT__ROOMS", "20"),
        ("RINGPORT_ACCOUNTS__AUTO_REGISTER", "false"),
        ("RINGPORT_SERVER__LISTEN", "127.0.0.1:4000"),
        ("RINGPORT_ADMIN__LISTEN", "none"),
        ("RINGPORT_ACCOUNTS__STORE", "memory"),
        ("RINGPORT_REQUIRE_REDIS", "1"), // not a setting: no double underscore
        ("HOME", "/root"),
    ]))
    .unwrap();
    assert_eq!(c.chat.rooms, 20);
    assert_eq!(c.chat.chat_rate, 5, "the file's value stays");
    assert!(!c.accounts.auto_register);
    assert_eq!(c.server.listen, "127.0.0.1:4000".parse().unwrap());
    assert_eq!(c.admin.listen, ListenAddr::Off);
}

#[test]
fn bad_environment_variables_are_named() {
    for (var, value, needle) in [
        ("RINGPORT_CHAT__ROMS", "1", "chat.roms"),
        ("RINGPORT_NOPE__ROOMS", "1", "nope.rooms"),
        ("RINGPORT_CHAT__ROOMS", "many", "chat.rooms"),
        ("RINGPORT_CHAT__ROOMS", "-3", "RINGPORT_CHAT__ROOMS"),
        (
            "RINGPORT_ENGINE__BACKEND",
            "carrier-pigeon",
            "RINGPORT_ENGINE__BACKEND",
        ),
        (
            "RINGPORT_ACCOUNTS__AUTO_REGISTER",
            "perhaps",
            "accounts.auto_register",
        ),
    ] {
        let e = Config::default()
            .apply_env(vars(&[(var, value)]))
            .unwrap_err();
        assert!(e.0.contains(var), "{var}: {e}");
        assert!(e.0.contains(needle), "{var}: {e}");
    }
}

#[test]
fn rust_log_sets_the_filter_unless_the_specific_variable_does() {
    let mut c = Config::default();
    c.apply_env(vars(&[("RUST_LOG", "debug")])).unwrap();
    assert_eq!(c.log.filter, "debug");
    let mut c = Config::default();
    c.apply_env(vars(&[
        ("RUST_LOG", "debug"),
        ("RINGPORT_LOG__FILTER", "warn"),
    ]))
    .unwrap();
    assert_eq!(c.log.filter, "warn");
}

#[test]
fn cluster_keys_come_from_the_file_then_the_environment_then_the_flags() {
    let mut c = Config::parse(
        "[cluster]\nurl = \"redis://10.0.0.5:6379/1\"\nprefix = \"file:\"\nlease_ms = 3000\nheartbeat_ms = 500\n",
        "f",
    )
    .unwrap();
    assert!(c.cluster.enabled());
    assert_eq!(c.cluster.claim_ttl_ms, 15_000, "default kept");
    c.apply_env(vars(&[
        ("RINGPORT_CLUSTER__PREFIX", "env:"),
        ("RINGPORT_CLUSTER__LEASE_MS", "4000"),
        ("RINGPORT_CLUSTER__NODE_ID", "node-7"),
    ]))
    .unwrap();
    serve_flags(&["--cluster-lease-ms", "6000"]).apply(&mut c);
    c.validate().unwrap();
    assert_eq!(c.cluster.url, "redis://10.0.0.5:6379/1", "file");
    assert_eq!(c.cluster.heartbeat_ms, 500, "file");
    assert_eq!(c.cluster.prefix, "env:", "environment over file");
    assert_eq!(c.cluster.node_id, "node-7", "environment");
    assert_eq!(c.cluster.lease_ms, 6000, "flag over environment and file");
}

#[test]
fn bad_cluster_keys_are_named() {
    for (text, key) in [
        ("[cluster]\nlease_ms = 50\n", "cluster.lease_ms"),
        ("[cluster]\nheartbeat_ms = 5\n", "cluster.heartbeat_ms"),
        ("[cluster]\nclaim_ttl_ms = 0\n", "cluster.claim_ttl_ms"),
        ("[cluster]\ntimeout_ms = 60001\n", "cluster.timeout_ms"),
        ("[cluster]\nqueue = 0\n", "cluster.queue"),
        ("[cluster]\nprefix = \"a b\"\n", "cluster.prefix"),
        ("[cluster]\nnode_id = \"a b\"\n", "cluster.node_id"),
        (
            "[cluster]\nlease_ms = 1000\nheartbeat_ms = 1000\n",
            "cluster.heartbeat_ms",
        ),
        (
            "[cluster]\nclaim_ttl_ms = 900\nheartbeat_ms = 900\n",
            "cluster.claim_ttl_ms",
        ),
        ("[cluster]\nurl = \"localhost:6379\"\n", "cluster.url"),
    ] {
        let e = Config::parse(text, "f").unwrap().validate().unwrap_err();
        assert!(e.0.contains(key), "{text}: {e}");
    }
    let e = Config::parse("[cluster]\nlease = 5000\n", "c.toml").unwrap_err();
    assert!(e.0.contains("c.toml") && e.0.contains("lease"), "{e}");
    let e = Config::default()
        .apply_env(vars(&[("RINGPORT_CLUSTER__LEASE_MS", "soon")]))
        .unwrap_err();
    assert!(e.0.contains("RINGPORT_CLUSTER__LEASE_MS"), "{e}");
}

#[test]
fn a_cluster_password_is_never_shown() {
    let mut c = Config::default();
    assert_eq!(c.cluster.shown_url(), "off");
    c.cluster.url = "redis://ops:s3cret@10.0.0.5:6379/0".into();
    c.validate().unwrap();
    assert_eq!(c.cluster.shown_url(), "redis://ops:***@10.0.0.5:6379/0");
    // A URL that is refused is named, but without its password.
    c.cluster.url = "redis://:s3cret@10.0.0.5:notaport".into();
    let e = c.validate().unwrap_err();
    assert!(e.0.contains("cluster.url"), "{e}");
    assert!(!e.0.contains("s3cret"), "{e}");
}

#[test]
fn the_request_queue_bounds_reach_the_machine_from_every_layer() {
    let mut c = Config::parse("[chat]\npipeline_frames = 8\n", "f").unwrap();
    c.apply_env(vars(&[("RINGPORT_CHAT__PIPELINE_BYTES", "4096")]))
        .unwrap();
    let chat = c.chat.to_chat_config(10, true);
    assert_eq!((chat.pipeline_frames, chat.pipeline_bytes), (8, 4096));
    serve_flags(&["--pipeline-frames", "3"]).apply(&mut c);
    assert_eq!(c.chat.pipeline_frames, 3);
    assert_eq!(
        c.chat.pipeline_bytes, 4096,
        "no flag: the environment's value"
    );
    let d = Config::default().chat.to_chat_config(10, true);
    assert_eq!((d.pipeline_frames, d.pipeline_bytes), (64, 16384));
}

#[test]
fn no_flag_changes_nothing_and_each_cluster_flag_sets_its_key() {
    let mut c = Config::default();
    serve_flags(&[]).apply(&mut c);
    assert_eq!(c, Config::default());
    serve_flags(&[
        "--cluster",
        "redis://h:1",
        "--cluster-prefix",
        "p:",
        "--cluster-node-id",
        "n1",
        "--cluster-lease-ms",
        "2",
        "--cluster-heartbeat-ms",
        "3",
        "--cluster-claim-ttl-ms",
        "4",
        "--cluster-timeout-ms",
        "5",
        "--cluster-queue",
        "6",
    ])
    .apply(&mut c);
    assert_eq!(
        c.cluster,
        ClusterSection {
            url: "redis://h:1".into(),
            prefix: "p:".into(),
            node_id: "n1".into(),
            lease_ms: 2,
            heartbeat_ms: 3,
            claim_ttl_ms: 4,
            timeout_ms: 5,
            queue: 6,
        }
    );
}

#[test]
fn flags_of_every_kind_reach_their_keys() {
    use clap::Parser;
    #[derive(Parser)]
    struct Top {
        #[command(flatten)]
        global: flags::Flags<flags::ForAll>,
        #[command(flatten)]
        serve: flags::Flags<flags::ForServe>,
    }
    let top = Top::parse_from([
        "ringport",
        "--room-start",
        "-3",
        "--backend",
        "poll",
        "--admin-listen",
        "none",
        "--auto-register",
        "false",
        "--listen",
        "127.0.0.1:4000",
        "--accounts",
        "memory",
        "--log",
        "warn,ringport_net=debug",
        "--log-format",
        "json",
    ]);
    let mut c = Config::default();
    top.global.apply(&mut c);
    top.serve.apply(&mut c);
    assert_eq!(c.chat.room_start, -3);
    assert_eq!(c.engine.backend, ringport_net::BackendChoice::Poll);
    assert_eq!(c.admin.listen, ListenAddr::Off);
    assert!(!c.accounts.auto_register);
    assert_eq!(c.server.listen, "127.0.0.1:4000".parse().unwrap());
    assert_eq!(c.accounts.store, "memory");
    assert_eq!(c.log.filter, "warn,ringport_net=debug");
    assert_eq!(c.log.format, LogFormat::Json);
    // Everything not given keeps its value.
    assert_eq!(c.engine.max_sessions, Config::default().engine.max_sessions);
    assert!(Top::try_parse_from(["ringport", "--log", "info,[[["]).is_err());
    assert!(Top::try_parse_from(["ringport", "--rooms", "many"]).is_err());
}

#[test]
fn the_engine_conversion_keeps_every_value() {
    let mut c = Config::default();
    c.apply_env(vars(&[
        ("RINGPORT_ENGINE__IO_THREADS", "3"),
        ("RINGPORT_ENGINE__SEND_STALL_TIMEOUT", "0"),
        ("RINGPORT_ENGINE__IDLE_TIMEOUT", "30"),
        ("RINGPORT_ENGINE__LINGER_TIMEOUT_MS", "1500"),
    ]))
    .unwrap();
    let e = c.engine.to_engine_config();
    assert_eq!(e.io_threads, 3);
    assert_eq!(e.send_stall_timeout, None);
    assert_eq!(e.idle_timeout, Some(std::time::Duration::from_secs(30)));
    assert_eq!(e.linger_timeout, std::time::Duration::from_millis(1500));
    let d = Config::default().engine.to_engine_config();
    let lib = ringport_net::EngineConfig::default();
    assert_eq!(d.io_threads, lib.io_threads, "0: one per core");
    assert_eq!(d.send_stall_timeout, lib.send_stall_timeout);
    assert_eq!(d.linger_timeout, lib.linger_timeout);
    assert_eq!(d.max_sessions, lib.max_sessions);
}

#[test]
fn allowed_hosts_are_hosts() {
    let list: HostList = "Chat.Example, localhost:11080, [::1]".parse().unwrap();
    assert_eq!(list.0, ["chat.example", "localhost:11080", "[::1]"]);
    for bad in [
        "http://chat.example",
        "a b",
        "chat.example/x",
        ":80",
        "u@host",
    ] {
        assert!(bad.parse::<HostList>().is_err(), "{bad}");
    }
    let cfg = Config::parse("[websocket]\nallowed_hosts = \"chat.example\"\n", "f").unwrap();
    assert_eq!(cfg.websocket.allowed_hosts.0, ["chat.example"]);
}

#[test]
fn allowed_origins_are_origins() {
    let list: OriginList = "https://chat.example, http://10.0.0.1:11080,*"
        .parse()
        .unwrap();
    assert_eq!(list.0.len(), 3);
    for bad in [
        "chat.example",
        "https://chat.example/app",
        "ftp://x",
        "https://",
        "https://a b",
    ] {
        assert!(bad.parse::<OriginList>().is_err(), "{bad}");
    }
    let cfg = Config::parse(
        "[websocket]\nlisten = \"127.0.0.1:11080\"\nallowed_origins = \"https://a.example\"\n",
        "f",
    )
    .unwrap();
    assert_eq!(
        cfg.websocket.listen,
        ListenAddr::On("127.0.0.1:11080".parse().unwrap())
    );
    assert_eq!(cfg.websocket.allowed_origins.0, ["https://a.example"]);
    assert!(Config::parse(
        "[websocket]\nallowed_origins = \"https://a.example/x\"\n",
        "f"
    )
    .is_err());
}

#[test]
fn the_logic_runs_on_the_io_thread_only_where_there_is_one() {
    let on_io = |vars_: &[(&str, &str)]| {
        let mut c = Config::default();
        c.apply_env(vars(vars_)).unwrap();
        let threads = c.engine.to_engine_config().io_threads;
        (c.chat.logic_on_io_thread(threads), c.validate())
    };
    let one = ("RINGPORT_ENGINE__IO_THREADS", "1");
    let two = ("RINGPORT_ENGINE__IO_THREADS", "2");
    assert_eq!(on_io(&[one]).0, Ok(true), "auto with one I/O thread");
    assert_eq!(on_io(&[two]).0, Ok(false), "auto with two");
    let own = ("RINGPORT_CHAT__LOGIC_THREAD", "own");
    assert_eq!(on_io(&[one, own]).0, Ok(false));
    let io = ("RINGPORT_CHAT__LOGIC_THREAD", "io");
    assert_eq!(on_io(&[one, io]).0, Ok(true));
    let (refused, checked) = on_io(&[two, io]);
    let message = refused.unwrap_err();
    assert!(message.contains("engine.io_threads = 1"), "{message}");
    assert!(checked
        .unwrap_err()
        .to_string()
        .contains("chat.logic_thread"));
    let mut c = Config::default();
    let bad = c.apply_env(vars(&[("RINGPORT_CHAT__LOGIC_THREAD", "both")]));
    assert!(bad.unwrap_err().to_string().contains("auto, own or io"));
}
