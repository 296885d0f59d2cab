//! The link graph laid out by Graphviz's `dot`, when installed.
//!
//! Addresses and ports come from the network, so they are hostile. They
//! only reach `dot` as quoted, escaped labels (to size the boxes); nodes are
//! named by our own ids (`s3`, `d0`, `p7`). `dot` is asked for `-Tplain`
//! (coordinates only), not for SVG: the picture is drawn here with maud,
//! so every string on the page passes through the same escaping as the rest
//! of the site and nothing `dot` writes is ever copied into the page. The
//! run is bounded: input size, output size and wall time. Layouts are
//! remembered (a few dozen, oldest forgotten first) so `serve` does not
//! start `dot` again for a page whose graph has not changed.

use super::LinkLayout;
use maud::{Markup, html};
use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Edges above which the Rust layout is used instead (dot's time grows
/// quickly with crossings).
pub const MAX_EDGES: usize = 600;
/// Longest label given to `dot` (longer names are cut; the page still
/// shows the full name).
pub const MAX_LABEL: usize = 64;
/// Longest `dot` may run.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Most output read from `dot`.
const MAX_OUTPUT: u64 = 4 << 20;
/// SVG pixels per Graphviz inch.
const PX: f64 = 72.0;
/// Layouts remembered, by their DOT text.
pub const CACHED_LAYOUTS: usize = 64;

/// Why Graphviz did not lay out a graph.
#[derive(Debug, thiserror::Error)]
pub enum GraphvizError {
    /// Too many edges for `dot`.
    #[error("{0} edges exceed the Graphviz limit of {MAX_EDGES}")]
    TooBig(usize),
    /// `dot` could not be started or fed.
    #[error("cannot run dot: {0}")]
    Run(std::io::Error),
    /// `dot` ran past [`TIMEOUT`] and was killed.
    #[error("dot did not finish within {} s and was killed", TIMEOUT.as_secs())]
    Timeout,
    /// `dot` failed.
    #[error("dot failed ({0})")]
    Failed(String),
    /// Its output was not the `plain` format we asked for.
    #[error("cannot understand dot's output: {0}")]
    Output(String),
}

/// True when `dot -V` runs (checked once per process).
pub fn dot_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("dot")
            .arg("-V")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// `s` as the inside of a DOT double-quoted string: quotes and backslashes
/// escaped (so `\N`, `\G`, `\l` stay literal), control characters blanked,
/// at most [`MAX_LABEL`] characters.
pub fn dot_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_LABEL) + 2);
    for c in s.chars().take(MAX_LABEL) {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The DOT text of a laid-out link graph: three ranks, left to right, in
/// the barycenter order as a starting point.
pub fn dot_source(g: &LinkLayout) -> String {
    let mut d = String::from(
        "digraph links {\n graph [rankdir=LR, nodesep=0.06, ranksep=1.4, splines=true, \
         outputorder=edgesfirst];\n node [shape=box, fontsize=10, height=0.22, \
         margin=\"0.06,0.02\"];\n edge [dir=none];\n",
    );
    for (prefix, names) in [("s", &g.sources), ("d", &g.destinations), ("p", &g.ports)] {
        d.push_str(" { rank=same;");
        for (i, n) in names.iter().enumerate() {
            d.push_str(&format!(" {prefix}{i} [label=\"{}\"];", dot_quote(n)));
        }
        d.push_str(" }\n");
    }
    for (a, b, w) in &g.src_dst {
        d.push_str(&format!(" s{a} -> d{b} [weight={}];\n", weight(*w)));
    }
    for (a, b, w) in &g.dst_port {
        d.push_str(&format!(" d{a} -> p{b} [weight={}];\n", weight(*w)));
    }
    d.push_str("}\n");
    d
}

fn weight(w: u64) -> u64 {
    1 + u64::from(w.max(1).ilog2())
}

/// Runs `dot -Tplain` on `input`, bounded by [`TIMEOUT`] and the output cap.
pub fn run_dot(input: String) -> Result<String, GraphvizError> {
    let mut child = Command::new("dot")
        .arg("-Tplain")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(GraphvizError::Run)?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(GraphvizError::Failed("no pipes".into()));
    };
    // Separate threads so a large input or output cannot deadlock on a
    // full pipe.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.take(MAX_OUTPUT).read_to_end(&mut out).map(|_| out)
    });
    let errors = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stderr.take(4096).read_to_end(&mut out);
        String::from_utf8_lossy(&out).trim().to_string()
    });
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(GraphvizError::Run(e));
            }
        }
    };
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(GraphvizError::Timeout);
    };
    let fed = writer.join();
    let out = reader
        .join()
        .map_err(|_| GraphvizError::Output("reader panicked".into()))?
        .map_err(GraphvizError::Run)?;
    let said = errors.join().unwrap_or_default();
    if !status.success() {
        return Err(GraphvizError::Failed(format!("{status}: {said}")));
    }
    if let Ok(Err(e)) = fed {
        return Err(GraphvizError::Run(e));
    }
    String::from_utf8(out).map_err(|_| GraphvizError::Output("not UTF-8".into()))
}

/// A node's box from `dot`: centre x, centre y, width, height (inches).
pub type NodeBox = (f64, f64, f64, f64);

/// An edge from `dot`: tail id, head id, B-spline control points.
pub type Spline = (String, String, Vec<(f64, f64)>);

/// Node centres, sizes and edge splines from `dot -Tplain`, in inches with
/// the origin at the bottom left.
#[derive(Debug, Default, PartialEq)]
pub struct PlainLayout {
    /// Width and height of the drawing.
    pub size: (f64, f64),
    /// Node id → (x, y, width, height).
    pub nodes: HashMap<String, NodeBox>,
    /// (tail id, head id, B-spline control points).
    pub edges: Vec<Spline>,
}

fn num(tok: Option<&str>, what: &str) -> Result<f64, GraphvizError> {
    tok.and_then(|t| t.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .ok_or_else(|| GraphvizError::Output(format!("bad {what}")))
}

/// Parses the `plain` output format. Only our own node ids are trusted
/// from it; labels are ignored.
pub fn parse_plain(text: &str) -> Result<PlainLayout, GraphvizError> {
    let mut p = PlainLayout::default();
    for line in text.lines() {
        let mut t = line.split_ascii_whitespace();
        match t.next() {
            Some("graph") => {
                let _scale = num(t.next(), "scale")?;
                p.size = (num(t.next(), "width")?, num(t.next(), "height")?);
            }
            Some("node") => {
                let id = t
                    .next()
                    .ok_or_else(|| GraphvizError::Output("node id".into()))?;
                let v = (
                    num(t.next(), "x")?,
                    num(t.next(), "y")?,
                    num(t.next(), "width")?,
                    num(t.next(), "height")?,
                );
                p.nodes.insert(id.to_string(), v);
            }
            Some("edge") => {
                let tail = t
                    .next()
                    .ok_or_else(|| GraphvizError::Output("edge".into()))?;
                let head = t
                    .next()
                    .ok_or_else(|| GraphvizError::Output("edge".into()))?;
                let n = num(t.next(), "point count")? as usize;
                if n > 10_000 {
                    return Err(GraphvizError::Output("too many points".into()));
                }
                let mut pts = Vec::with_capacity(n);
                for _ in 0..n {
                    pts.push((num(t.next(), "point")?, num(t.next(), "point")?));
                }
                p.edges.push((tail.to_string(), head.to_string(), pts));
            }
            Some("stop") => return Ok(p),
            _ => {}
        }
    }
    Err(GraphvizError::Output("no stop line".into()))
}

/// A node id back to its layer and index: `s3` → (0, 3).
fn node_ref(id: &str) -> Option<(usize, usize)> {
    let layer = match id.as_bytes().first()? {
        b's' => 0,
        b'd' => 1,
        b'p' => 2,
        _ => return None,
    };
    Some((layer, id[1..].parse().ok()?))
}

/// The graph laid out by `dot`, drawn as SVG here.
pub fn graphviz_svg(
    g: &LinkLayout,
    link: &dyn Fn(&str) -> String,
) -> Result<Markup, GraphvizError> {
    let edges = g.src_dst.len() + g.dst_port.len();
    if edges > MAX_EDGES {
        return Err(GraphvizError::TooBig(edges));
    }
    let plain = cached_layout(dot_source(g))?;
    Ok(draw(g, &plain, link))
}

/// Remembered layouts: the DOT text → what `dot` made of it, at most
/// [`CACHED_LAYOUTS`], the oldest forgotten first.
#[derive(Default)]
struct LayoutCache {
    layouts: HashMap<String, Arc<PlainLayout>>,
    order: VecDeque<String>,
}

fn cache() -> &'static Mutex<LayoutCache> {
    static CACHE: OnceLock<Mutex<LayoutCache>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The layout of `dot` text, from the cache or from `dot`.
fn cached_layout(dot: String) -> Result<Arc<PlainLayout>, GraphvizError> {
    if let Some(p) = cache()
        .lock()
        .ok()
        .and_then(|c| c.layouts.get(&dot).cloned())
    {
        return Ok(p);
    }
    let plain = Arc::new(parse_plain(&run_dot(dot.clone())?)?);
    if let Ok(mut c) = cache().lock()
        && !c.layouts.contains_key(&dot)
    {
        while c.order.len() >= CACHED_LAYOUTS {
            if let Some(old) = c.order.pop_front() {
                c.layouts.remove(&old);
            }
        }
        c.order.push_back(dot.clone());
        c.layouts.insert(dot, plain.clone());
    }
    Ok(plain)
}

/// Draws `g` at the positions `dot` chose.
pub fn draw(g: &LinkLayout, plain: &PlainLayout, link: &dyn Fn(&str) -> String) -> Markup {
    let top = 24.0;
    let (w, h) = (plain.size.0 * PX + 8.0, plain.size.1 * PX + top + 4.0);
    let at = |x: f64, y: f64| (x * PX + 4.0, (plain.size.1 - y) * PX + top);
    let layers = [&g.sources, &g.destinations, &g.ports];
    let fills = ["#fdecea", "#eaf2fb", "#eafaf1"];
    let strokes = ["#c0392b", "#2980b9", "#27ae60"];
    let mut weights: HashMap<(&str, &str), u64> = HashMap::new();
    let src_dst = g.src_dst.iter().map(|(a, b, w)| (("s", *a), ("d", *b), *w));
    let dst_port = g
        .dst_port
        .iter()
        .map(|(a, b, w)| (("d", *a), ("p", *b), *w));
    let ids: Vec<(String, String, u64)> = src_dst
        .chain(dst_port)
        .map(|((pa, a), (pb, b), w)| (format!("{pa}{a}"), format!("{pb}{b}"), w))
        .collect();
    for (a, b, w) in &ids {
        weights.insert((a.as_str(), b.as_str()), *w);
    }
    let max = ids.iter().map(|e| e.2).max().unwrap_or(1).max(1) as f64;
    let path = |pts: &[(f64, f64)]| {
        let mut d = String::new();
        for (i, (x, y)) in pts.iter().enumerate() {
            let (x, y) = at(*x, *y);
            let op = match i {
                0 => "M",
                1 => " C",
                _ => " ",
            };
            d.push_str(&format!("{op}{x:.1},{y:.1}"));
        }
        d
    };
    let mut nodes: Vec<(&str, usize, usize, NodeBox)> = plain
        .nodes
        .iter()
        .filter_map(|(id, v)| {
            let (layer, i) = node_ref(id)?;
            layers[layer].get(i)?;
            Some((id.as_str(), layer, i, *v))
        })
        .collect();
    nodes.sort_by_key(|n| (n.1, n.2));
    html! {
        svg class="chart graph graphviz" xmlns="http://www.w3.org/2000/svg" width=(format!("{w:.0}")) height=(format!("{h:.0}")) viewBox={"0 0 " (format!("{w:.0}")) " " (format!("{h:.0}"))} role="img" aria-label="link graph" {
            title { "Who talked to whom: source → destination → port (Graphviz layout)" }
            text x="4" y="14" font-size="12" font-weight="bold" { "Links: source → destination → port" }
            @for (a, b, pts) in &plain.edges {
                @if pts.len() >= 4 && node_ref(a).is_some() && node_ref(b).is_some() {
                    @let wgt = weights.get(&(a.as_str(), b.as_str())).copied().unwrap_or(1);
                    path class="edge" d=(path(pts)) fill="none" stroke="#95a5a6" stroke-width=(format!("{:.1}", 0.8 + 3.0 * (wgt as f64 / max).sqrt())) {
                        title { (edge_name(g, a, b)) ": " (wgt) " connections" }
                    }
                }
            }
            @for (_, layer, i, (x, y, nw, nh)) in &nodes {
                @let (cx, cy) = at(*x, *y);
                @let name = &layers[*layer][*i];
                @let bx = format!("{:.1}", cx - nw * PX / 2.0);
                @let by = format!("{:.1}", cy - nh * PX / 2.0);
                @let (rw, rh) = (format!("{:.1}", nw * PX), format!("{:.1}", nh * PX));
                @if *layer == 0 {
                    a href=(link(name)) {
                        rect class="node" x=(bx) y=(by) width=(rw) height=(rh) rx="3" fill=(fills[0]) stroke=(strokes[0]) {}
                        text x=(format!("{cx:.1}")) y=(format!("{:.1}", cy + 3.5)) font-size="10" text-anchor="middle" { (name) }
                    }
                } @else {
                    rect class="node" x=(bx) y=(by) width=(rw) height=(rh) rx="3" fill=(fills[*layer]) stroke=(strokes[*layer]) {}
                    text x=(format!("{cx:.1}")) y=(format!("{:.1}", cy + 3.5)) font-size="10" text-anchor="middle" { (name) }
                }
            }
        }
    }
}

/// "10.0.0.1 → 10.0.0.2" for an edge's tooltip.
fn edge_name(g: &LinkLayout, a: &str, b: &str) -> String {
    let name = |id: &str| {
        let (layer, i) = node_ref(id)?;
        [&g.sources, &g.destinations, &g.ports][layer]
            .get(i)
            .cloned()
    };
    format!(
        "{} → {}",
        name(a).unwrap_or_default(),
        name(b).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::super::layout;
    use super::*;
    use tripline_store::LinkEdge;

    fn e(src: &str, dst: &str, dport: u16, n: u64) -> LinkEdge {
        LinkEdge {
            src: src.into(),
            dst: dst.into(),
            dport,
            protocol: 6,
            connections: n,
        }
    }

    const HOSTILE: &str = "x\"];evil [label=\"\\N</text><script>window.__xss=9</script>";

    #[test]
    fn labels_are_quoted_for_dot() {
        assert_eq!(dot_quote("a\"b\\N"), "a\\\"b\\\\N");
        assert_eq!(dot_quote("a\nb\0c"), "a b c");
        assert_eq!(dot_quote(&"x".repeat(500)).len(), MAX_LABEL);
        let g = layout(&[e(HOSTILE, "10.0.0.2", 22, 1)]);
        let dot = dot_source(&g);
        // The hostile name stays inside one quoted label.
        let line = dot.lines().find(|l| l.contains("s0 [")).unwrap();
        assert!(
            line.contains("s0 [label=\"x\\\"];evil [label=\\\"\\\\N</text>"),
            "{line}"
        );
        assert!(!dot.contains("evil [label=\"\\N"), "{dot}");
    }

    #[test]
    fn plain_output_parses_and_rejects_garbage() {
        let text = "graph 1 2.5 0.75\n\
            node s0 0.6 0.6 1.2 0.26 \"a \\\"x\\\" <b>\" solid box black lightgrey\n\
            node d0 2.1 0.6 0.7 0.26 10.0.0.1 solid box black lightgrey\n\
            edge s0 d0 4 1.2 0.6 1.3 0.6 1.4 0.6 1.5 0.6 solid black\n\
            stop\n";
        let p = parse_plain(text).unwrap();
        assert_eq!(p.size, (2.5, 0.75));
        assert_eq!(p.nodes["s0"], (0.6, 0.6, 1.2, 0.26));
        assert_eq!(p.edges.len(), 1);
        assert_eq!(p.edges[0].2.len(), 4);
        assert!(parse_plain("graph 1 2 2\n").is_err(), "no stop");
        assert!(parse_plain("graph 1 x 2\nstop\n").is_err());
        assert!(parse_plain("graph 1 1 1\nedge s0 d0 3 1 1\nstop\n").is_err());
        assert!(parse_plain("graph 1 1 1\nnode s0 NaN 1 1 1\nstop\n").is_err());
    }

    #[test]
    fn drawing_ignores_unknown_nodes() {
        let g = layout(&[e("10.0.0.1", "10.0.0.2", 22, 1)]);
        let text = "graph 1 3 1\nnode s0 0.5 0.5 1 0.3 x\nnode s9 1 1 1 1 x\nnode zz 1 1 1 1 x\n\
            node d0 1.5 0.5 1 0.3 x\nnode p0 2.5 0.5 1 0.3 x\n\
            edge s0 d0 4 1 0.5 1.1 0.5 1.2 0.5 1.3 0.5\nstop\n";
        let svg = draw(&g, &parse_plain(text).unwrap(), &|s| format!("s/{s}.html")).into_string();
        assert_eq!(svg.matches("class=\"node\"").count(), 3);
        assert_eq!(svg.matches("class=\"edge\"").count(), 1);
        assert!(svg.contains("href=\"s/10.0.0.1.html\""));
    }

    #[test]
    fn dot_lays_out_hostile_names_and_no_script_survives() {
        assert!(
            dot_available(),
            "Graphviz is not installed (scripts/setup.sh installs graphviz)"
        );
        let edges = [
            e(HOSTILE, "10.0.0.2", 22, 3),
            e("10.0.0.1", "10.0.0.2", 80, 1),
            e("10.0.0.1", "<img src=x onerror=alert(1)>", 443, 7),
        ];
        let g = layout(&edges);
        let svg = graphviz_svg(&g, &|s| format!("../source/{s}.html"))
            .unwrap()
            .into_string();
        assert!(svg.contains("graphviz"));
        assert_eq!(svg.matches("class=\"node\"").count(), 2 + 2 + 3);
        assert_eq!(svg.matches("class=\"edge\"").count(), 3 + 3);
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("<img"), "{svg}");
        assert!(svg.contains("&lt;script&gt;window.__xss=9"), "{svg}");
        assert!(svg.contains("href=\"../source/10.0.0.1.html\""));
        // Every node lies inside the drawing.
        let p = parse_plain(&run_dot(dot_source(&g)).unwrap()).unwrap();
        for (x, y, _, _) in p.nodes.values() {
            assert!(*x >= 0.0 && *x <= p.size.0 && *y >= 0.0 && *y <= p.size.1);
        }
    }

    #[test]
    fn layouts_are_remembered_within_bounds() {
        assert!(dot_available(), "Graphviz is not installed");
        let dots: Vec<String> = (0..CACHED_LAYOUTS + 3)
            .map(|i| dot_source(&layout(&[e(&format!("10.9.{i}.1"), "10.0.0.2", 22, 1)])))
            .collect();
        let first = cached_layout(dots[0].clone()).unwrap();
        let again = cached_layout(dots[0].clone()).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "dot ran twice for one graph");
        for d in &dots[1..] {
            cached_layout(d.clone()).unwrap();
        }
        let c = cache().lock().unwrap();
        assert!(c.layouts.len() <= CACHED_LAYOUTS);
        assert_eq!(c.layouts.len(), c.order.len());
        assert!(c.layouts.contains_key(dots.last().unwrap()));
    }

    #[test]
    fn too_big_graphs_are_left_to_rust() {
        let edges: Vec<LinkEdge> = (0..MAX_EDGES as u16)
            .map(|i| e(&format!("10.1.{}.{}", i / 250, i % 250), "10.0.0.2", i, 1))
            .collect();
        let g = layout(&edges);
        assert!(matches!(
            graphviz_svg(&g, &|s| s.to_string()),
            Err(GraphvizError::TooBig(_))
        ));
    }
}
