//! The link graph of who talked to whom, AfterGlow-style: three layers
//! (sources → destinations → destination ports), laid out in Rust with the
//! barycenter heuristic (each node moves to the mean position of its
//! neighbours in the layer before, a few sweeps each way) so edges cross
//! little, or by Graphviz's `dot` when it is installed (see [`graphviz`]).
//! Source nodes link to their pages.

use maud::{Markup, html};
use serde::Deserialize;
use tripline_store::LinkEdge;

/// Who lays out the link graph (`[web] graph_layout`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GraphLayout {
    /// Graphviz when `dot` is on the `PATH`, else Rust.
    #[default]
    Auto,
    /// Always the layered layout in Rust.
    Rust,
    /// Graphviz's `dot` (falling back to Rust, with a warning, when it
    /// cannot be run, takes too long or the graph is too big for it).
    Graphviz,
}

/// The link graph as SVG, laid out as `how` says; `link` gives the page
/// of a source address.
pub fn link_graph(edges: &[LinkEdge], link: &dyn Fn(&str) -> String, how: GraphLayout) -> Markup {
    let use_dot = match how {
        GraphLayout::Rust => false,
        GraphLayout::Auto => !edges.is_empty() && graphviz::dot_available(),
        GraphLayout::Graphviz => !edges.is_empty(),
    };
    if use_dot {
        let g = layout(edges);
        match graphviz::graphviz_svg(&g, link) {
            Ok(svg) => return svg,
            Err(e) => tracing::warn!("link graph: {e}; using the Rust layout"),
        }
    }
    link_graph_svg(edges, link)
}

pub mod graphviz;

/// Sweeps of the barycenter ordering.
const SWEEPS: usize = 4;

/// A laid-out graph: three ordered layers and weighted edges between
/// neighbouring layers (indexes into the layers).
#[derive(Debug, Default, PartialEq)]
pub struct LinkLayout {
    /// Source addresses, top to bottom.
    pub sources: Vec<String>,
    /// Destination addresses.
    pub destinations: Vec<String>,
    /// Destination ports (`tcp/22`).
    pub ports: Vec<String>,
    /// (source, destination, connections).
    pub src_dst: Vec<(usize, usize, u64)>,
    /// (destination, port, connections).
    pub dst_port: Vec<(usize, usize, u64)>,
}

fn proto_name(p: u8) -> &'static str {
    match p {
        6 => "tcp",
        17 => "udp",
        1 => "icmp",
        58 => "icmp6",
        132 => "sctp",
        _ => "ip",
    }
}

fn index_of(list: &mut Vec<String>, s: &str) -> usize {
    match list.iter().position(|x| x == s) {
        Some(i) => i,
        None => {
            list.push(s.to_string());
            list.len() - 1
        }
    }
}

fn add_edge(edges: &mut Vec<(usize, usize, u64)>, a: usize, b: usize, w: u64) {
    match edges.iter_mut().find(|e| e.0 == a && e.1 == b) {
        Some(e) => e.2 += w,
        None => edges.push((a, b, w)),
    }
}

/// Builds and orders the layers from `edges`.
pub fn layout(edges: &[LinkEdge]) -> LinkLayout {
    let mut g = LinkLayout::default();
    for e in edges {
        let s = index_of(&mut g.sources, &e.src);
        let d = index_of(&mut g.destinations, &e.dst);
        let p = index_of(
            &mut g.ports,
            &format!("{}/{}", proto_name(e.protocol), e.dport),
        );
        add_edge(&mut g.src_dst, s, d, e.connections);
        add_edge(&mut g.dst_port, d, p, e.connections);
    }
    // pos[layer][node] = rank within its layer.
    let mut pos_s: Vec<f64> = (0..g.sources.len()).map(|i| i as f64).collect();
    let mut pos_d: Vec<f64> = (0..g.destinations.len()).map(|i| i as f64).collect();
    let mut pos_p: Vec<f64> = (0..g.ports.len()).map(|i| i as f64).collect();
    for _ in 0..SWEEPS {
        pos_d = reorder(&pos_d, &pos_s, &g.src_dst, true);
        pos_p = reorder(&pos_p, &pos_d, &g.dst_port, true);
        pos_d = reorder(&pos_d, &pos_p, &g.dst_port, false);
        pos_s = reorder(&pos_s, &pos_d, &g.src_dst, false);
    }
    let perm = |pos: &[f64]| -> Vec<usize> {
        let mut idx: Vec<usize> = (0..pos.len()).collect();
        idx.sort_by(|a, b| pos[*a].total_cmp(&pos[*b]).then(a.cmp(b)));
        idx
    };
    let (ps, pd, pp) = (perm(&pos_s), perm(&pos_d), perm(&pos_p));
    let inv = |p: &[usize]| {
        let mut v = vec![0; p.len()];
        for (rank, node) in p.iter().enumerate() {
            v[*node] = rank;
        }
        v
    };
    let (is, id, ip) = (inv(&ps), inv(&pd), inv(&pp));
    LinkLayout {
        sources: ps.iter().map(|i| g.sources[*i].clone()).collect(),
        destinations: pd.iter().map(|i| g.destinations[*i].clone()).collect(),
        ports: pp.iter().map(|i| g.ports[*i].clone()).collect(),
        src_dst: g
            .src_dst
            .iter()
            .map(|(a, b, w)| (is[*a], id[*b], *w))
            .collect(),
        dst_port: g
            .dst_port
            .iter()
            .map(|(a, b, w)| (id[*a], ip[*b], *w))
            .collect(),
    }
}

/// New ranks for a layer: each node at the weighted mean rank of its
/// neighbours in `other` (`forward`: edges are (other, this)), ties and
/// isolated nodes keeping their order.
fn reorder(this: &[f64], other: &[f64], edges: &[(usize, usize, u64)], forward: bool) -> Vec<f64> {
    let mut sum = vec![0.0; this.len()];
    let mut weight = vec![0.0; this.len()];
    for (a, b, w) in edges {
        let (o, t) = if forward { (*a, *b) } else { (*b, *a) };
        let w = (*w as f64).ln_1p();
        sum[t] += other[o] * w;
        weight[t] += w;
    }
    let bary: Vec<f64> = (0..this.len())
        .map(|i| {
            if weight[i] > 0.0 {
                sum[i] / weight[i]
            } else {
                this[i]
            }
        })
        .collect();
    let mut idx: Vec<usize> = (0..this.len()).collect();
    idx.sort_by(|a, b| {
        bary[*a]
            .total_cmp(&bary[*b])
            .then(this[*a].total_cmp(&this[*b]))
    });
    let mut out = vec![0.0; this.len()];
    for (rank, node) in idx.into_iter().enumerate() {
        out[node] = rank as f64;
    }
    out
}

/// The graph as SVG in the Rust layout; `link` gives the page of a source
/// address.
pub fn link_graph_svg(edges: &[LinkEdge], link: &dyn Fn(&str) -> String) -> Markup {
    let g = layout(edges);
    let row_h = 20.0;
    let rows = g
        .sources
        .len()
        .max(g.destinations.len())
        .max(g.ports.len())
        .max(1);
    let h = 30.0 + row_h * rows as f64;
    let (xs, xd, xp) = (150.0, 420.0, 640.0);
    let y_of = |n: usize, i: usize| {
        let offset = (rows - n) as f64 * row_h / 2.0;
        30.0 + offset + row_h * i as f64 + row_h / 2.0
    };
    let max = g
        .src_dst
        .iter()
        .chain(&g.dst_port)
        .map(|e| e.2)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let stroke = |w: u64| format!("{:.1}", 0.8 + 3.0 * (w as f64 / max).sqrt());
    let (ns, nd, np) = (g.sources.len(), g.destinations.len(), g.ports.len());
    html! {
        svg class="chart graph" xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 720 " (h)} role="img" aria-label="link graph" {
            title { "Who talked to whom: source → destination → port" }
            text x="4" y="14" font-size="12" font-weight="bold" { "Links: source → destination → port" }
            @for (s, d, w) in &g.src_dst {
                line class="edge" x1=(xs + 4.0) y1=(y_of(ns, *s)) x2=(xd - 4.0) y2=(y_of(nd, *d)) stroke="#95a5a6" stroke-width=(stroke(*w)) {
                    title { (g.sources[*s]) " → " (g.destinations[*d]) ": " (w) " connections" }
                }
            }
            @for (d, p, w) in &g.dst_port {
                line class="edge" x1=(xd + 4.0) y1=(y_of(nd, *d)) x2=(xp - 4.0) y2=(y_of(np, *p)) stroke="#bdc3c7" stroke-width=(stroke(*w)) {}
            }
            @for (i, s) in g.sources.iter().enumerate() {
                a href=(link(s)) {
                    circle class="node" cx=(xs) cy=(y_of(ns, i)) r="4" fill="#c0392b" {}
                    text x=(xs - 8.0) y=(y_of(ns, i) + 3.0) font-size="10" text-anchor="end" { (s) }
                }
            }
            @for (i, d) in g.destinations.iter().enumerate() {
                circle class="node" cx=(xd) cy=(y_of(nd, i)) r="4" fill="#2980b9" {}
                text x=(xd) y=(y_of(nd, i) - 6.0) font-size="10" text-anchor="middle" { (d) }
            }
            @for (i, p) in g.ports.iter().enumerate() {
                circle class="node" cx=(xp) cy=(y_of(np, i)) r="4" fill="#27ae60" {}
                text x=(xp + 8.0) y=(y_of(np, i) + 3.0) font-size="10" { (p) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(src: &str, dst: &str, dport: u16, n: u64) -> LinkEdge {
        LinkEdge {
            src: src.into(),
            dst: dst.into(),
            dport,
            protocol: 6,
            connections: n,
        }
    }

    fn crossings(edges: &[(usize, usize, u64)]) -> usize {
        let mut c = 0;
        for (i, a) in edges.iter().enumerate() {
            for b in &edges[i + 1..] {
                if (a.0 < b.0 && a.1 > b.1) || (a.0 > b.0 && a.1 < b.1) {
                    c += 1;
                }
            }
        }
        c
    }

    #[test]
    fn layers_are_deduplicated_and_crossings_removed() {
        // In input order, s1→d2 and s2→d1 cross; the layout untangles them.
        let edges = [
            e("s1", "d1", 22, 1),
            e("s2", "d2", 80, 1),
            e("s1", "d2", 80, 5),
            e("s3", "d1", 22, 2),
        ];
        let g = layout(&edges);
        assert_eq!(g.sources.len(), 3);
        assert_eq!(g.destinations.len(), 2);
        let mut ports = g.ports.clone();
        ports.sort();
        assert_eq!(ports, vec!["tcp/22".to_string(), "tcp/80".to_string()]);
        assert_eq!(g.src_dst.len(), 4);
        // d2 →tcp/80 carries s2's and s1's connections.
        assert!(g.dst_port.iter().any(|(_, _, w)| *w == 6));
        assert_eq!(crossings(&g.dst_port), 0);
        assert!(crossings(&g.src_dst) <= 1);
    }

    #[test]
    fn the_layout_knob_picks_the_drawing() {
        let edges = [
            e("10.0.0.1", "10.0.0.2", 22, 3),
            e("10.0.0.3", "10.0.0.2", 80, 1),
        ];
        let link = |s: &str| format!("s/{s}.html");
        let rust = link_graph(&edges, &link, GraphLayout::Rust).into_string();
        assert!(!rust.contains("graphviz"), "{rust}");
        assert_eq!(rust.matches("<line class=\"edge\"").count(), 4);
        assert!(
            graphviz::dot_available(),
            "Graphviz is not installed (scripts/setup.sh installs graphviz)"
        );
        for how in [GraphLayout::Graphviz, GraphLayout::Auto] {
            let dot = link_graph(&edges, &link, how).into_string();
            assert!(
                dot.contains("class=\"chart graph graphviz\""),
                "{how:?}: {dot}"
            );
            assert_eq!(dot.matches("<path class=\"edge\"").count(), 4, "{dot}");
            assert!(dot.contains("href=\"s/10.0.0.3.html\""));
        }
        // Nothing to lay out: no need for dot.
        let empty = link_graph(&[], &link, GraphLayout::Graphviz).into_string();
        assert!(!empty.contains("graphviz"));
        let knob: GraphLayout = serde_json::from_str("\"graphviz\"").unwrap();
        assert_eq!(knob, GraphLayout::Graphviz);
        assert!(serde_json::from_str::<GraphLayout>("\"neato\"").is_err());
    }

    #[test]
    fn svg_links_sources_and_escapes_names() {
        let svg = link_graph_svg(&[e("10.0.0.1", "<x>", 22, 3)], &|s| format!("s/{s}.html"))
            .into_string();
        assert!(svg.contains("href=\"s/10.0.0.1.html\""));
        assert!(svg.contains("&lt;x&gt;"));
        assert_eq!(svg.matches("class=\"node\"").count(), 3);
    }
}
