//! Job graphs: chains, groups and `on_done` dependencies.
//!
//! A child starts when **all** its parents are done. Until then it waits in
//! `wait_dependencies`; a failed parent keeps its children waiting until it is requeued and
//! succeeds, or is set done.

use super::options::Delayable;

/// A graph of jobs to delay together (they share a graph id).
///
/// ```
/// use sync_core::queue::{chain, group, Delayable};
/// let job = |n: i32| Delayable::from_parts("step", n).unwrap();
/// // 1, then 2 and 3 in parallel, then 4.
/// let graph = chain([job(1).into(), group([job(2).into(), job(3).into()]), job(4).into()]);
/// let flat = graph.flatten();
/// assert_eq!(flat.jobs.len(), 4);
/// assert_eq!(flat.edges, vec![(1, 0), (2, 0), (3, 1), (3, 2)]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Graph {
    /// One job.
    Job(Delayable),
    /// Members run one after the other.
    Chain(Vec<Graph>),
    /// Members run in parallel.
    Group(Vec<Graph>),
    /// The second graph runs once the first is done.
    OnDone(Box<Graph>, Box<Graph>),
}

impl From<Delayable> for Graph {
    fn from(job: Delayable) -> Self {
        Graph::Job(job)
    }
}

/// Members that run one after the other.
pub fn chain(members: impl IntoIterator<Item = Graph>) -> Graph {
    Graph::Chain(members.into_iter().collect())
}

/// Members that run in parallel.
pub fn group(members: impl IntoIterator<Item = Graph>) -> Graph {
    Graph::Group(members.into_iter().collect())
}

/// A graph flattened into jobs and `(child, parent)` edges between their indexes.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatGraph {
    /// The jobs, in the order they appear in the graph.
    pub jobs: Vec<Delayable>,
    /// `(child, parent)`: the child waits for the parent.
    pub edges: Vec<(usize, usize)>,
}

impl Graph {
    /// This graph, then `children` once all of it is done.
    pub fn on_done(self, children: impl Into<Graph>) -> Graph {
        Graph::OnDone(Box::new(self), Box::new(children.into()))
    }

    /// The jobs and edges of the graph.
    pub fn flatten(self) -> FlatGraph {
        let mut flat = FlatGraph {
            jobs: Vec::new(),
            edges: Vec::new(),
        };
        flat_node(self, &mut flat);
        flat.edges.sort_unstable();
        flat.edges.dedup();
        flat
    }
}

/// Adds `graph` to `flat`; returns its (heads, tails): the jobs without parents inside it
/// and the jobs without children inside it.
fn flat_node(graph: Graph, flat: &mut FlatGraph) -> (Vec<usize>, Vec<usize>) {
    match graph {
        Graph::Job(job) => {
            flat.jobs.push(job);
            let i = flat.jobs.len() - 1;
            (vec![i], vec![i])
        }
        Graph::Group(members) => {
            let (mut heads, mut tails) = (Vec::new(), Vec::new());
            for member in members {
                let (h, t) = flat_node(member, flat);
                heads.extend(h);
                tails.extend(t);
            }
            (heads, tails)
        }
        Graph::Chain(members) => {
            let mut heads: Option<Vec<usize>> = None;
            let mut tails: Vec<usize> = Vec::new();
            for member in members {
                let (h, t) = flat_node(member, flat);
                link(flat, &tails, &h);
                if heads.is_none() && !h.is_empty() {
                    heads = Some(h);
                }
                if !t.is_empty() {
                    tails = t;
                }
            }
            (heads.unwrap_or_default(), tails)
        }
        Graph::OnDone(first, then) => {
            let (heads, tails) = flat_node(*first, flat);
            let (h, t) = flat_node(*then, flat);
            link(flat, &tails, &h);
            (heads, if t.is_empty() { tails } else { t })
        }
    }
}

fn link(flat: &mut FlatGraph, parents: &[usize], children: &[usize]) {
    for &child in children {
        for &parent in parents {
            flat.edges.push((child, parent));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: i32) -> Graph {
        Delayable::from_parts("j", n).unwrap().into()
    }

    #[test]
    fn on_done_links_tails_to_heads() {
        let g = group([job(0), job(1)]).on_done(chain([job(2), job(3)]));
        let flat = g.flatten();
        assert_eq!(flat.edges, vec![(2, 0), (2, 1), (3, 2)]);
    }

    #[test]
    fn nested_chains() {
        let g = chain([chain([job(0), job(1)]), job(2)]);
        assert_eq!(g.flatten().edges, vec![(1, 0), (2, 1)]);
    }
}
