//! Arbitrary payloads against rules that exercise every matcher path
//! (relative content with backtracking, byte_jump/extract/test with
//! variables, pcre, isdataat, negation, transforms): inspection never
//! panics and never exceeds its recursion bound. The first byte picks the
//! flow state so flowbits and `flow:` paths run too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tripline_core::{Header, IpFields, TcpFields, TcpFlags, Timestamp, Transport};
use tripline_rules::matcher::{FlowContext, MatcherLimits};
use tripline_rules::{FlowBits, Inspect, Rule, SignatureMatcher, Variables, parse_rule};

const RULES: &[&str] = &[
    r#"alert tcp any any -> any any (msg:"a"; content:"A"; content:"B"; distance:0; within:4; content:"C"; distance:1; sid:1;)"#,
    r#"alert tcp any any -> any any (msg:"b"; byte_extract:2,0,len,relative; byte_jump:2,0,relative,multiplier 2,post_offset -1; content:"|00|"; within:len; sid:2;)"#,
    r#"alert tcp any any -> any any (msg:"c"; content:"x"; byte_test:4,>,1000,-2,relative,little; isdataat:!3,relative; sid:3;)"#,
    r#"alert tcp any any -> any any (msg:"d"; pcre:"/(a|b)+c{2,}/i"; content:!"zz"; sid:4;)"#,
    r#"alert tcp any any -> any any (msg:"e"; content:"GET"; startswith; byte_test:0,>,5,1,relative,string,dec; sid:5;)"#,
    r#"alert tcp any any -> any any (msg:"f"; content:"k"; flowbits:set,k; flowbits:noalert; sid:6;)"#,
    r#"alert tcp any any -> any any (msg:"g"; flow:established,to_server; flowbits:isset,k; content:"v"; endswith; sid:7;)"#,
    r#"alert tcp any any -> any any (msg:"h"; byte_jump:1,0,from_end,post_offset -3; content:"end"; within:3; sid:8;)"#,
];

fn matcher() -> &'static (Vec<Rule>, std::sync::Mutex<SignatureMatcher>) {
    static M: OnceLock<(Vec<Rule>, std::sync::Mutex<SignatureMatcher>)> = OnceLock::new();
    M.get_or_init(|| {
        let vars = Variables::empty();
        let rules: Vec<Rule> = RULES.iter().filter_map(|r| parse_rule(r, &vars).ok()).collect();
        assert_eq!(rules.len(), RULES.len(), "every fuzz rule parses");
        let (m, refused) = SignatureMatcher::new(&rules, MatcherLimits::default());
        assert!(refused.is_empty());
        (rules, std::sync::Mutex::new(m))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&state, payload)) = data.split_first() else {
        return;
    };
    let (_, m) = matcher();
    let Ok(mut m) = m.lock() else {
        return;
    };
    let h = Header {
        src: [10, 0, 0, 1].into(),
        dst: [10, 0, 0, 2].into(),
        protocol: 6,
        ip: IpFields::default(),
        transport: Transport::Tcp(TcpFields {
            sport: 1234,
            dport: 80,
            flags: TcpFlags(0x18),
            ..TcpFields::default()
        }),
    };
    let flow = FlowContext {
        to_server: state & 1 != 0,
        established: state & 2 != 0,
        ..FlowContext::default()
    };
    let mut bits = FlowBits::default();
    let mut out = Vec::new();
    for _ in 0..2 {
        m.inspect(&Inspect::packet(Timestamp(0), &h, payload, flow), &mut bits, &mut out);
    }
    assert!(out.iter().all(|x| x.rule < RULES.len()));
});
