//! `tripline config default|check`.

use crate::cli::ConfigCommand;
use crate::config::{Config, DEFAULT_CONFIG_TOML};
use std::path::Path;
use std::process::ExitCode;

/// Runs `tripline config ...`.
pub fn run(explicit: Option<&Path>, cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Default => print!("{DEFAULT_CONFIG_TOML}"),
        ConfigCommand::ImportIptraffic { file } => return super::config_import::run(&file),
        ConfigCommand::Check => {
            let (cfg, path) = Config::load(explicit)?;
            match path {
                Some(p) => println!("# configuration: {}", p.display()),
                None => println!("# no configuration file found; defaults in use"),
            }
            let nets: Vec<String> = cfg
                .home_net
                .iter()
                .map(|c| format!("{c:?}").replace('"', ""))
                .collect();
            let nets: Vec<String> = cfg
                .home_net
                .iter()
                .map(|c| format!("\"{c}\""))
                .zip(nets)
                .map(|(a, _)| a)
                .collect();
            println!("home_net = [{}]", nets.join(", "));
            println!("\n[store]");
            match &cfg.store.path {
                Some(p) => println!("path = {:?}", p.display().to_string()),
                None => println!(
                    "# path = {:?} (default)",
                    tripline_store::Store::default_path().display().to_string()
                ),
            }
            println!("\n[input]");
            println!("{}", opt("year", cfg.input.year.map(|y| y.to_string())));
            println!(
                "{}",
                opt("tz", cfg.input.tz.as_ref().map(|t| format!("{t:?}")))
            );
            println!(
                "{}",
                opt("boot_time", cfg.input.boot_time.map(|b| b.to_string()))
            );
            println!("\n[flow]");
            println!("max_flows = {}", cfg.flow.max_flows);
            println!("tcp_idle_timeout = {}", cfg.flow.tcp_idle_timeout);
            println!("udp_idle_timeout = {}", cfg.flow.udp_idle_timeout);
            println!("icmp_idle_timeout = {}", cfg.flow.icmp_idle_timeout);
            println!("active_timeout = {}", cfg.flow.active_timeout);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn opt(key: &str, v: Option<String>) -> String {
    match v {
        Some(v) => format!("{key} = {v}"),
        None => format!("# {key} (not set)"),
    }
}
