//! The metro map drawn as one network: every station once (a station shared by several lines is
//! one interchange where they meet), each line a vertical track in its own colour and column,
//! the names on the right wrapped onto lines of their own. Laid out top to bottom, so it reads
//! on a phone as well as on a wall; the geometry is computed here (and tested: no label, station
//! or track overlaps another) and drawn by `templates/map.svg`.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

/// One station of a line as drawn: done (the learner holds it) or not.
pub struct DrawnStation {
    pub id: Uuid,
    pub name: String,
    pub done: bool,
}

/// One line as drawn: name, colour and its stations in order.
pub struct DrawnLine {
    pub name: String,
    pub colour: String,
    pub stations: Vec<DrawnStation>,
}

/// Layout constants, in SVG user units.
const COL: usize = 30;
const LEFT: usize = 24;
const LEGEND_ROW: usize = 24;
const LINE_HEIGHT: usize = 18;
const MIN_ROW: usize = 44;
const WRAP: usize = 26;
const CHAR_WIDTH: usize = 8;
const RADIUS: usize = 9;

pub struct StationMark {
    pub index: usize,
    /// Left and right ends (equal for a single line's station; an interchange spans its lines).
    pub x1: usize,
    pub x2: usize,
    pub y: usize,
    pub interchange: bool,
    pub done: bool,
    pub next: bool,
}

pub struct Label {
    pub index: usize,
    pub x: usize,
    pub y: usize,
    pub lines: Vec<String>,
}

pub struct Track {
    pub line: usize,
    pub from: usize,
    pub to: usize,
    pub x: usize,
    pub y1: usize,
    pub y2: usize,
    pub colour: String,
}

pub struct LegendItem {
    pub name: String,
    pub colour: String,
    pub y: usize,
}

/// Everything the template draws.
pub struct Layout {
    pub width: usize,
    pub height: usize,
    pub legend: Vec<LegendItem>,
    pub tracks: Vec<Track>,
    pub stations: Vec<StationMark>,
    pub labels: Vec<Label>,
}

/// Splits a name into lines of at most [`WRAP`] characters at spaces (a longer word is cut).
fn wrap(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in name.split_whitespace() {
        let mut word: String = word.to_string();
        while word.chars().count() > WRAP {
            let head: String = word.chars().take(WRAP).collect();
            out.push(head);
            word = word.chars().skip(WRAP).collect();
        }
        match out.last_mut() {
            Some(last) if last.chars().count() + 1 + word.chars().count() <= WRAP && !last.is_empty() => {
                last.push(' ');
                last.push_str(&word);
            }
            _ => out.push(word),
        }
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// Every station once, in an order that follows every line where the lines agree
/// (a topological order of "comes after" along each line; ties by first appearance).
fn station_order(lines: &[DrawnLine]) -> Vec<Uuid> {
    let mut first: Vec<Uuid> = Vec::new();
    for l in lines {
        for s in &l.stations {
            if !first.contains(&s.id) {
                first.push(s.id);
            }
        }
    }
    let rank: HashMap<Uuid, usize> = first.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut incoming: HashMap<Uuid, usize> = first.iter().map(|id| (*id, 0)).collect();
    let mut next: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for l in lines {
        for pair in l.stations.windows(2) {
            if pair[0].id != pair[1].id {
                next.entry(pair[0].id).or_default().push(pair[1].id);
                *incoming.entry(pair[1].id).or_default() += 1;
            }
        }
    }
    let mut ready: BTreeMap<usize, Uuid> =
        first.iter().filter(|id| incoming[*id] == 0).map(|id| (rank[id], *id)).collect();
    let mut order = Vec::with_capacity(first.len());
    while let Some((_, id)) = ready.pop_first() {
        order.push(id);
        for n in next.get(&id).into_iter().flatten() {
            let c = incoming.get_mut(n).expect("every station counted");
            *c -= 1;
            if *c == 0 {
                ready.insert(rank[n], *n);
            }
        }
    }
    // Lines that disagree (a cycle): the rest in order of first appearance.
    for id in first {
        if !order.contains(&id) {
            order.push(id);
        }
    }
    order
}

/// Column of each line: the given order, unless another order keeps the lines of every
/// interchange side by side (so no line's track runs through an interchange it does not stop
/// at); among equally good orders the given one wins. Up to 6 lines are tried exhaustively.
fn columns(lines: &[DrawnLine], row_of: &HashMap<Uuid, usize>) -> Vec<usize> {
    let n = lines.len();
    let spans: Vec<(usize, usize)> = lines
        .iter()
        .map(|l| {
            let rows: Vec<usize> = l.stations.iter().map(|s| row_of[&s.id]).collect();
            (rows.iter().copied().min().unwrap_or(0), rows.iter().copied().max().unwrap_or(0))
        })
        .collect();
    let serving: Vec<(usize, Vec<usize>)> = row_of
        .iter()
        .map(|(id, row)| (*row, (0..n).filter(|i| lines[*i].stations.iter().any(|s| s.id == *id)).collect::<Vec<_>>()))
        .filter(|(_, ls)| ls.len() > 1)
        .collect();
    let cost = |col: &[usize]| -> usize {
        serving
            .iter()
            .map(|(row, ls)| {
                let lo = ls.iter().map(|l| col[*l]).min().unwrap_or(0);
                let hi = ls.iter().map(|l| col[*l]).max().unwrap_or(0);
                (0..n)
                    .filter(|l| !ls.contains(l) && col[*l] > lo && col[*l] < hi)
                    .filter(|l| spans[*l].0 <= *row && *row <= spans[*l].1)
                    .count()
            })
            .sum()
    };
    let identity: Vec<usize> = (0..n).collect();
    if n > 6 || cost(&identity) == 0 {
        return identity;
    }
    let mut best = (cost(&identity), identity.clone());
    let mut perm = identity;
    // Heap's algorithm over the column orders.
    let mut c = vec![0usize; n];
    let mut i = 0;
    while i < n {
        if c[i] < i {
            if i % 2 == 0 {
                perm.swap(0, i)
            } else {
                perm.swap(c[i], i)
            }
            // perm[k] = the k-th column's line; col[line] = its column.
            let mut col = vec![0; n];
            for (k, line) in perm.iter().enumerate() {
                col[*line] = k;
            }
            let score = cost(&col);
            if score < best.0 {
                best = (score, col);
            }
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    best.1
}

/// Lays the network out.
pub fn layout(lines: &[DrawnLine]) -> Layout {
    let order = station_order(lines);
    let row_of: HashMap<Uuid, usize> = order.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let col = columns(lines, &row_of);
    let x_of = |line: usize| LEFT + RADIUS + 4 + col[line] * COL;
    let legend: Vec<LegendItem> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| LegendItem { name: l.name.clone(), colour: l.colour.clone(), y: 56 + i * LEGEND_ROW })
        .collect();
    let top = 56 + lines.len() * LEGEND_ROW + 16;
    let names: HashMap<Uuid, &str> =
        lines.iter().flat_map(|l| l.stations.iter().map(|s| (s.id, s.name.as_str()))).collect();
    let wrapped: Vec<Vec<String>> = order.iter().map(|id| wrap(names[id])).collect();
    let mut ys = Vec::with_capacity(order.len());
    let mut y = top;
    for w in &wrapped {
        let h = MIN_ROW.max(w.len() * LINE_HEIGHT + 14);
        ys.push(y + h / 2);
        y += h;
    }
    let columns_right = LEFT + RADIUS + 4 + lines.len().saturating_sub(1) * COL + RADIUS + 2;
    let label_x = columns_right + 14;
    let mut stations = Vec::with_capacity(order.len());
    let mut labels = Vec::with_capacity(order.len());
    for (i, id) in order.iter().enumerate() {
        let serving: Vec<usize> = (0..lines.len()).filter(|l| lines[*l].stations.iter().any(|s| s.id == *id)).collect();
        let xs: Vec<usize> = serving.iter().map(|l| x_of(*l)).collect();
        let done = lines.iter().flat_map(|l| &l.stations).any(|s| s.id == *id && s.done);
        // The next station: the first one not done on a line where something is done.
        let next = !done
            && serving.iter().any(|l| {
                let st = &lines[*l].stations;
                st.iter().any(|s| s.done) && st.iter().find(|s| !s.done).is_some_and(|s| s.id == *id)
            });
        stations.push(StationMark {
            index: i,
            x1: xs.iter().copied().min().unwrap_or(LEFT),
            x2: xs.iter().copied().max().unwrap_or(LEFT),
            y: ys[i],
            interchange: serving.len() > 1,
            done,
            next,
        });
        let n = wrapped[i].len();
        labels.push(Label {
            index: i,
            x: label_x,
            y: ys[i] + 5 - (n - 1) * LINE_HEIGHT / 2,
            lines: wrapped[i].clone(),
        });
    }
    let mut tracks = Vec::new();
    for (l, line) in lines.iter().enumerate() {
        for pair in line.stations.windows(2) {
            let (a, b) = (row_of[&pair[0].id], row_of[&pair[1].id]);
            if a == b {
                continue;
            }
            tracks.push(Track {
                line: l,
                from: a,
                to: b,
                x: x_of(l),
                y1: ys[a].min(ys[b]),
                y2: ys[a].max(ys[b]),
                colour: line.colour.clone(),
            });
        }
    }
    let longest = wrapped.iter().flatten().map(|s| s.chars().count()).max().unwrap_or(0);
    let legend_longest = lines.iter().map(|l| l.name.chars().count()).max().unwrap_or(0);
    let width = (label_x + longest * CHAR_WIDTH + 16).max(LEFT + 30 + legend_longest * CHAR_WIDTH + 16).max(320);
    Layout { width, height: y + 16, legend, tracks, stations, labels }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An axis-aligned box (for the overlap rule and its tests).
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub(crate) struct Box2 {
        pub x: f64,
        pub y: f64,
        pub w: f64,
        pub h: f64,
    }

    impl Box2 {
        pub(crate) fn overlaps(&self, o: &Box2) -> bool {
            self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
        }
    }

    impl Layout {
        /// The boxes the overlap rule is about: `("label"|"station"|"track", index, box)`, where a
        /// track's index is its position in `tracks`.
        pub(crate) fn boxes(&self) -> Vec<(&'static str, usize, Box2)> {
            let r = RADIUS as f64 + 2.0;
            let mut out = Vec::new();
            for s in &self.stations {
                out.push((
                    "station",
                    s.index,
                    Box2 { x: s.x1 as f64 - r, y: s.y as f64 - r, w: (s.x2 - s.x1) as f64 + 2.0 * r, h: 2.0 * r },
                ));
            }
            for l in &self.labels {
                let w = l.lines.iter().map(|s| s.chars().count()).max().unwrap_or(0) as f64 * CHAR_WIDTH as f64;
                let h = (l.lines.len() * LINE_HEIGHT) as f64;
                out.push(("label", l.index, Box2 { x: l.x as f64, y: l.y as f64 - 14.0, w, h }));
            }
            for (i, t) in self.tracks.iter().enumerate() {
                out.push(("track", i, Box2 { x: t.x as f64 - 3.0, y: t.y1 as f64, w: 6.0, h: (t.y2 - t.y1) as f64 }));
            }
            out
        }
    }

    pub(crate) fn fixture() -> Vec<DrawnLine> {
        let id = |n: u128| Uuid::from_u128(n);
        let st = |n: u128, name: &str, done: bool| DrawnStation { id: id(n), name: name.into(), done };
        let long = "Veilig werken met hoogspanning in de praktijk"; // 45 characters
        vec![
            DrawnLine {
                name: "Onderhoud basis".into(),
                colour: "#0a7d3b".into(),
                stations: vec![st(1, "Smeren", true), st(2, long, false), st(3, "Trillingen meten", false)],
            },
            DrawnLine {
                name: "Elektrotechniek".into(),
                colour: "#b3261e".into(),
                stations: vec![
                    st(4, "Meten aan installaties en schakelkasten", false),
                    st(2, long, false),
                    st(5, "NEN 3140", false),
                ],
            },
            DrawnLine {
                name: "Smart maintenance".into(),
                colour: "#16324f".into(),
                stations: vec![
                    st(6, "Data lezen", false),
                    st(3, "Trillingen meten", false),
                    st(7, "Voorspellend onderhoud plannen", false),
                ],
            },
        ]
    }

    /// Which pairs may touch: a track and the two stations it joins.
    pub(crate) fn allowed(l: &Layout, a: (&str, usize), b: (&str, usize)) -> bool {
        let joins = |t: usize, s: usize| l.tracks[t].from == s || l.tracks[t].to == s;
        match (a, b) {
            (("track", t), ("station", s)) | (("station", s), ("track", t)) => joins(t, s),
            _ => false,
        }
    }

    #[test]
    fn interchanges_once_and_nothing_overlaps() {
        let lines = fixture();
        let l = layout(&lines);
        assert_eq!(l.stations.len(), 7, "a shared station is drawn once");
        assert_eq!(l.stations.iter().filter(|s| s.interchange).count(), 2);
        let boxes = l.boxes();
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                if a.2.overlaps(&b.2) {
                    assert!(allowed(&l, (a.0, a.1), (b.0, b.1)), "{a:?} overlaps {b:?}");
                }
            }
        }
        // Each line keeps its stations in order, top to bottom.
        for (li, line) in lines.iter().enumerate() {
            let ys: Vec<usize> = l.tracks.iter().filter(|t| t.line == li).map(|t| t.y1).collect();
            assert!(ys.windows(2).all(|w| w[0] < w[1]), "{ys:?}");
            assert_eq!(ys.len(), line.stations.len() - 1);
        }
        // The learner's next station: the first one not done on a line they started.
        assert_eq!(l.stations.iter().filter(|s| s.next).count(), 1);
    }

    #[test]
    fn names_wrap_at_spaces() {
        assert_eq!(
            wrap("Veilig werken met hoogspanning in de praktijk"),
            ["Veilig werken met", "hoogspanning in de", "praktijk"]
        );
        assert_eq!(wrap(&"x".repeat(30)), ["x".repeat(26), "x".repeat(4)]);
    }

    #[test]
    fn column_order_keeps_interchanges_side_by_side() {
        // A meets B at 1 and 3 and C at 2; B runs past 2. In the given order (A, B, C) B's track
        // would cross the A–C interchange: A moves between them.
        let id = |n: u128| Uuid::from_u128(n);
        let st = |n: u128| DrawnStation { id: id(n), name: format!("S{n}"), done: false };
        let lines = vec![
            DrawnLine { name: "A".into(), colour: "#111111".into(), stations: vec![st(1), st(2), st(3)] },
            DrawnLine { name: "B".into(), colour: "#222222".into(), stations: vec![st(1), st(15), st(3)] },
            DrawnLine { name: "C".into(), colour: "#333333".into(), stations: vec![st(7), st(2), st(8)] },
        ];
        let l = layout(&lines);
        let x = |line: usize| l.tracks.iter().find(|t| t.line == line).unwrap().x;
        assert!(x(0) > x(1).min(x(2)) && x(0) < x(1).max(x(2)), "A in the middle");
        let boxes = l.boxes();
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                assert!(!a.2.overlaps(&b.2) || allowed(&l, (a.0, a.1), (b.0, b.1)), "{a:?} overlaps {b:?}");
            }
        }
    }
}
