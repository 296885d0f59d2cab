//! Rule variables (`$HOME_NET`, `$HTTP_PORTS`, ...) with Suricata's defaults.
//!
//! The defaults follow the `vars:` section of Suricata's stock
//! `suricata.yaml`; `HOME_NET` comes from tripline's configured home
//! networks. Values are kept as rule-syntax text and expanded when a rule
//! header is parsed, so a variable may refer to another (`!$HOME_NET`).

use std::collections::HashMap;
use tripline_core::HomeNets;

/// Address and port variables available to rule headers.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    addresses: HashMap<String, String>,
    ports: HashMap<String, String>,
}

/// Address groups that default to `$HOME_NET` in suricata.yaml.
const HOME_NET_GROUPS: &[&str] = &[
    "HTTP_SERVERS",
    "SMTP_SERVERS",
    "SQL_SERVERS",
    "DNS_SERVERS",
    "TELNET_SERVERS",
    "AIM_SERVERS",
    "DC_SERVERS",
    "DNP3_SERVER",
    "DNP3_CLIENT",
    "MODBUS_CLIENT",
    "MODBUS_SERVER",
    "ENIP_CLIENT",
    "ENIP_SERVER",
];

/// Port groups and their suricata.yaml defaults.
const PORT_DEFAULTS: &[(&str, &str)] = &[
    ("HTTP_PORTS", "80"),
    ("SHELLCODE_PORTS", "!80"),
    ("ORACLE_PORTS", "1521"),
    ("SSH_PORTS", "22"),
    ("DNP3_PORTS", "20000"),
    ("MODBUS_PORTS", "502"),
    ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
    ("FTP_PORTS", "21"),
    ("GENEVE_PORTS", "6081"),
    ("VXLAN_PORTS", "4789"),
    ("TEREDO_PORTS", "3544"),
];

impl Variables {
    /// No variables at all: every `$NAME` is an error.
    pub fn empty() -> Variables {
        Variables::default()
    }

    /// Suricata's stock variables with `HOME_NET` set to `home` (or `any`
    /// when no home network is configured) and `EXTERNAL_NET` = `!$HOME_NET`.
    pub fn suricata_defaults(home: &HomeNets) -> Variables {
        let mut v = Variables::default();
        let home_text = if home.is_empty() {
            "any".to_string()
        } else {
            let list: Vec<String> = home.prefixes().iter().map(|c| c.to_string()).collect();
            format!("[{}]", list.join(","))
        };
        v.set_address("HOME_NET", &home_text);
        // With HOME_NET = any, "!any" would match nothing; Suricata users in
        // that situation set EXTERNAL_NET to any.
        if home.is_empty() {
            v.set_address("EXTERNAL_NET", "any");
        } else {
            v.set_address("EXTERNAL_NET", "!$HOME_NET");
        }
        for g in HOME_NET_GROUPS {
            v.set_address(g, "$HOME_NET");
        }
        for (name, value) in PORT_DEFAULTS {
            v.set_port(name, value);
        }
        v
    }

    /// Defines or replaces an address group (rule syntax, e.g. `[10.0.0.0/8,!10.1.0.0/16]`).
    pub fn set_address(&mut self, name: &str, value: &str) {
        self.addresses
            .insert(name.trim_start_matches('$').to_string(), value.to_string());
    }

    /// Defines or replaces a port group (rule syntax, e.g. `[80,8080:8090]`).
    pub fn set_port(&mut self, name: &str, value: &str) {
        self.ports
            .insert(name.trim_start_matches('$').to_string(), value.to_string());
    }

    /// The text of an address group, without the leading `$`.
    pub fn address(&self, name: &str) -> Option<&str> {
        self.addresses.get(name).map(String::as_str)
    }

    /// The text of a port group, without the leading `$`.
    pub fn port(&self, name: &str) -> Option<&str> {
        self.ports.get(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_suricata_yaml() {
        let home = HomeNets::parse(&["192.168.1.0/24", "fd00::/8"]).unwrap();
        let v = Variables::suricata_defaults(&home);
        assert_eq!(v.address("HOME_NET"), Some("[192.168.1.0/24,fd00::/8]"));
        assert_eq!(v.address("EXTERNAL_NET"), Some("!$HOME_NET"));
        assert_eq!(v.address("DNS_SERVERS"), Some("$HOME_NET"));
        assert_eq!(v.port("FILE_DATA_PORTS"), Some("[$HTTP_PORTS,110,143]"));
        assert_eq!(v.port("SHELLCODE_PORTS"), Some("!80"));
        assert_eq!(v.port("NOPE"), None);
    }
}
