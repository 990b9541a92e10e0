//! The lineage graph's layout, computed once here so the browser only draws: nodes in
//! layers by longest path from the roots (a node sits right of everything it reads),
//! ordered inside each layer by the barycenter of their neighbours (fewer crossings),
//! and tall layers wrapped into several columns so a 5,000-model graph stays about as
//! wide as it is high.

/// Where one node sits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    /// The layer: 0 for nodes without parents, else one more than the deepest parent.
    pub layer: u32,
    /// The drawn column (a tall layer spans several).
    pub col: u32,
    /// The row inside the column, centred on 0.
    pub row: f64,
}

/// Lays out a DAG given each node's parents (indices). `key` orders nodes before the
/// crossing reduction (e.g. by folder), so the result is deterministic.
pub fn layout(parents: &[Vec<u32>], key: &[String]) -> Vec<Place> {
    let n = parents.len();
    let mut children: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (c, ps) in parents.iter().enumerate() {
        for &p in ps {
            children[p as usize].push(c as u32);
        }
    }
    let layer = layers(parents, &children);
    let depth = layer.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut by_layer: Vec<Vec<u32>> = vec![Vec::new(); depth];
    for v in 0..n {
        by_layer[layer[v] as usize].push(v as u32);
    }
    for l in &mut by_layer {
        l.sort_by(|a, b| key[*a as usize].cmp(&key[*b as usize]));
    }
    // Relative position (0..1) of each node inside its layer.
    let mut pos = vec![0f64; n];
    let place = |by_layer: &Vec<Vec<u32>>, pos: &mut Vec<f64>| {
        for l in by_layer {
            let len = l.len().max(1) as f64;
            for (i, &v) in l.iter().enumerate() {
                pos[v as usize] = (i as f64 + 0.5) / len;
            }
        }
    };
    place(&by_layer, &mut pos);
    for round in 0..6 {
        let down = round % 2 == 0;
        let order: Vec<usize> = if down {
            (1..depth).collect()
        } else {
            (0..depth.saturating_sub(1)).rev().collect()
        };
        for li in order {
            let neighbours = if down { parents } else { &children };
            let bary: Vec<(u32, f64)> = by_layer[li]
                .iter()
                .map(|&v| {
                    let ns = &neighbours[v as usize];
                    let b = if ns.is_empty() {
                        pos[v as usize]
                    } else {
                        ns.iter().map(|&u| pos[u as usize]).sum::<f64>() / ns.len() as f64
                    };
                    (v, b)
                })
                .collect();
            let mut sorted = bary;
            sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
            by_layer[li] = sorted.into_iter().map(|(v, _)| v).collect();
            let len = by_layer[li].len().max(1) as f64;
            for (i, &v) in by_layer[li].iter().enumerate() {
                pos[v as usize] = (i as f64 + 0.5) / len;
            }
        }
    }
    // Wrap tall layers: no column holds more than `height` nodes.
    let height = ((n as f64 * 3.0).sqrt().ceil() as usize).max(40);
    let mut places = vec![
        Place {
            layer: 0,
            col: 0,
            row: 0.0
        };
        n
    ];
    let mut col = 0u32;
    for (li, l) in by_layer.iter().enumerate() {
        if l.is_empty() {
            continue;
        }
        let cols = l.len().div_ceil(height);
        let per = l.len().div_ceil(cols);
        for (c, chunk) in l.chunks(per).enumerate() {
            let half = (chunk.len() as f64 - 1.0) / 2.0;
            for (i, &v) in chunk.iter().enumerate() {
                places[v as usize] = Place {
                    layer: li as u32,
                    col: col + c as u32,
                    row: i as f64 - half,
                };
            }
        }
        col += cols as u32;
    }
    places
}

/// Longest-path layering (Kahn's order); nodes caught in a cycle go one right of their
/// placed parents.
fn layers(parents: &[Vec<u32>], children: &[Vec<u32>]) -> Vec<u32> {
    let n = parents.len();
    let mut missing: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut layer = vec![0u32; n];
    let mut done = vec![false; n];
    let mut queue: Vec<u32> = (0..n as u32)
        .filter(|&v| missing[v as usize] == 0)
        .collect();
    let mut head = 0;
    loop {
        while head < queue.len() {
            let v = queue[head] as usize;
            head += 1;
            done[v] = true;
            for &c in &children[v] {
                let c = c as usize;
                if done[c] || missing[c] == 0 {
                    continue; // released from a cycle
                }
                layer[c] = layer[c].max(layer[v] + 1);
                missing[c] -= 1;
                if missing[c] == 0 {
                    queue.push(c as u32);
                }
            }
        }
        // A cycle (the manifest should not have one): release its first node.
        match (0..n).find(|&v| !done[v] && missing[v] > 0) {
            Some(v) => {
                missing[v] = 0;
                queue.push(v as u32);
            }
            None => break,
        }
    }
    layer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_sit_right_of_their_parents() {
        // 0 -> 1 -> 3, 0 -> 2 -> 3, 4 alone
        let parents = vec![vec![], vec![0], vec![0], vec![1, 2], vec![]];
        let key: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        let p = layout(&parents, &key);
        assert_eq!(p[0].layer, 0);
        assert_eq!(p[1].layer, 1);
        assert_eq!(p[3].layer, 2);
        assert_eq!(p[4].layer, 0);
        assert!(p[3].col > p[1].col && p[1].col > p[0].col);
    }

    #[test]
    fn a_cycle_does_not_hang() {
        let parents = vec![vec![1], vec![0], vec![1]];
        let key = vec![String::new(); 3];
        assert_eq!(layout(&parents, &key).len(), 3);
    }

    #[test]
    fn tall_layers_wrap_into_columns() {
        let n = 5000;
        let parents = vec![Vec::new(); n];
        let key: Vec<String> = (0..n).map(|i| format!("{i:05}")).collect();
        let p = layout(&parents, &key);
        let cols = p.iter().map(|p| p.col).max().unwrap() + 1;
        assert!(cols > 20, "{cols} columns");
        assert!(p.iter().all(|p| p.row.abs() < 130.0));
    }
}
