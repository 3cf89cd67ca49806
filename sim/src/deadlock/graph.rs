//! The wait-for graph of a deadlock: who waits for whom, and the deadlocked core.
//!
//! A node per rank (blocked, or finished and still waited for) and an edge per thing a
//! blocked call waits for ([`WaitsOn`]). An AND edge (a receive from a named source, a
//! rendezvous send, a collective waiting for a rank that has not arrived) must be
//! satisfied; of a call's OR edges (`ANY_SOURCE`, `waitany`, `waitsome`) any one would do.
//! A wildcard's "any member of communicator c but me" is one node per communicator, so
//! the graph stays linear in the number of ranks even when every rank waits on a
//! wildcard.
//!
//! When the graph is built the run can no longer move, so every blocked rank is stuck for
//! good; the graph tells why. The deadlocked core is the ranks on cycles (strongly
//! connected components that hold a real cycle); with OR edges in it, the component is a
//! knot: no rank outside it can release any rank in it. The other blocked ranks merely
//! wait on the core, or on ranks that finished.
//!
//! Invariant: everything here is ordered by rank (petgraph's indices follow insertion,
//! and nodes are inserted in rank order), so cycles and DOT output are deterministic.

use super::{BlockedCall, EdgeKind, WaitsOn};
use crate::call::CallKind;
use crate::Rank;
use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write;

/// A node of the wait-for graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A rank blocked in `call` at `location` (file:line:column).
    Blocked {
        /// The rank.
        rank: Rank,
        /// Its call, e.g. `MPI_Send`.
        call: &'static str,
        /// Where.
        location: String,
    },
    /// A rank whose program returned while others still wait for it.
    Finished {
        /// The rank.
        rank: Rank,
    },
    /// "Any rank of this communicator but the one that waits": the target of wildcard
    /// waits. Its edges lead to the communicator's blocked members (to its finished ones
    /// if no other member is blocked).
    AnyOf {
        /// The communicator.
        comm: u32,
        /// What reports call it (`COMM_WORLD`, `dup of COMM_WORLD at a.rs:3:9`).
        name: String,
    },
}

impl Node {
    /// The rank of a rank node.
    pub fn rank(&self) -> Option<Rank> {
        match self {
            Node::Blocked { rank, .. } | Node::Finished { rank } => Some(*rank),
            Node::AnyOf { .. } => None,
        }
    }
}

/// An edge: a thing the source node waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    /// AND (needed) or OR (one of several would do).
    pub kind: EdgeKind,
    /// The call behind it, e.g. `MPI_Send to 1, tag 0`; empty from a wildcard node to a
    /// member.
    pub label: String,
}

/// What the analysis of a wait-for graph finds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Analysis {
    /// One cycle per deadlocked component, each from its lowest rank, components ordered
    /// by their lowest rank.
    pub cycles: Vec<Vec<Rank>>,
    /// Every rank on a cycle, in rank order.
    pub core: Vec<Rank>,
    /// Whether OR edges take part in the first component: it is a knot.
    pub knot: bool,
}

/// The wait-for graph of a deadlock (petgraph [`DiGraph`]).
#[derive(Clone, Debug)]
pub struct WaitForGraph {
    graph: DiGraph<Node, Edge>,
    ranks: BTreeMap<Rank, NodeIndex>,
    groups: BTreeMap<u32, NodeIndex>,
}

impl WaitForGraph {
    /// Builds the graph of `blocked` ranks, `finished` ranks and the `communicators` whose
    /// members wildcard waits name.
    pub fn new(blocked: &[BlockedCall], finished: &[Rank], communicators: &BTreeMap<u32, Vec<Rank>>) -> WaitForGraph {
        let mut g = WaitForGraph { graph: DiGraph::new(), ranks: BTreeMap::new(), groups: BTreeMap::new() };
        let mut sorted: Vec<&BlockedCall> = blocked.iter().collect();
        sorted.sort_by_key(|b| b.rank);
        for b in &sorted {
            let node = Node::Blocked { rank: b.rank, call: b.call.mpi_name(), location: b.location.to_string() };
            let index = g.graph.add_node(node);
            g.ranks.insert(b.rank, index);
        }
        let is_blocked: BTreeSet<Rank> = g.ranks.keys().copied().collect();
        // A wildcard waits on the communicator of its own call: a blocked call names it.
        let mut names: BTreeMap<u32, String> = BTreeMap::new();
        for b in &sorted {
            if let (Some(comm), Some(name)) = (b.comm, b.comm_text()) {
                names.entry(comm).or_insert(name);
            }
        }
        let finished: BTreeSet<Rank> = finished.iter().copied().collect();
        for b in &sorted {
            let from = g.ranks[&b.rank];
            for w in &b.waits_on {
                let kind = w.kind();
                for &r in &w.ranks {
                    let to = g.rank_node(r);
                    g.graph.add_edge(from, to, Edge { kind, label: w.what.clone() });
                }
                for &comm in &w.any_of {
                    let name = names.get(&comm).cloned().unwrap_or_else(|| crate::words::comm_name(comm));
                    let to = g.group_node(comm, &name, b.rank, communicators, &is_blocked, &finished);
                    g.graph.add_edge(from, to, Edge { kind, label: w.what.clone() });
                }
            }
        }
        g
    }

    /// The node of `rank`, made as a finished rank if it is not blocked.
    fn rank_node(&mut self, rank: Rank) -> NodeIndex {
        if let Some(&i) = self.ranks.get(&rank) {
            return i;
        }
        let i = self.graph.add_node(Node::Finished { rank });
        self.ranks.insert(rank, i);
        i
    }

    /// The wildcard node of `comm`, with its edges to members, made on first use.
    fn group_node(
        &mut self,
        comm: u32,
        name: &str,
        waiter: Rank,
        communicators: &BTreeMap<u32, Vec<Rank>>,
        blocked: &BTreeSet<Rank>,
        finished: &BTreeSet<Rank>,
    ) -> NodeIndex {
        let members: &[Rank] = communicators.get(&comm).map_or(&[], Vec::as_slice);
        let live: Vec<Rank> = members.iter().copied().filter(|r| blocked.contains(r)).collect();
        if live.len() < 2 {
            // Nobody but the waiter could still send: the waiter really waits on the
            // finished members. Such a node serves that one waiter only.
            let i = self.graph.add_node(Node::AnyOf { comm, name: name.to_string() });
            for &r in members.iter().filter(|&&r| r != waiter && finished.contains(&r)) {
                let to = self.rank_node(r);
                self.graph.add_edge(i, to, Edge { kind: EdgeKind::Or, label: String::new() });
            }
            return i;
        }
        if let Some(&i) = self.groups.get(&comm) {
            return i;
        }
        let i = self.graph.add_node(Node::AnyOf { comm, name: name.to_string() });
        for r in live {
            let to = self.ranks[&r];
            self.graph.add_edge(i, to, Edge { kind: EdgeKind::Or, label: String::new() });
        }
        self.groups.insert(comm, i);
        i
    }

    /// The petgraph graph, for drawing (the TUI) or further analysis.
    pub fn graph(&self) -> &DiGraph<Node, Edge> {
        &self.graph
    }

    /// The rank nodes whose edges lead from `from`, skipping through wildcard nodes (a
    /// wildcard never leads back to the rank that entered it), in rank order.
    fn successors(&self, from: NodeIndex, within: &BTreeSet<NodeIndex>) -> Vec<(Rank, NodeIndex)> {
        let me = self.graph[from].rank();
        let mut out = BTreeMap::new();
        for e in self.graph.edges_directed(from, Direction::Outgoing) {
            let to = e.target();
            if !within.contains(&to) {
                continue;
            }
            match self.graph[to].rank() {
                Some(r) => {
                    out.insert(r, to);
                }
                None => {
                    for e2 in self.graph.edges_directed(to, Direction::Outgoing) {
                        let t2 = e2.target();
                        if let Some(r) = self.graph[t2].rank().filter(|&r| Some(r) != me && within.contains(&t2)) {
                            out.insert(r, t2);
                        }
                    }
                }
            }
        }
        out.into_iter().collect()
    }

    /// The shortest cycle through `start` inside `within`, from `start`; ties go to lower
    /// ranks.
    fn cycle_from(&self, start: NodeIndex, within: &BTreeSet<NodeIndex>) -> Option<Vec<Rank>> {
        let mut parent: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(n) = queue.pop_front() {
            for (_, next) in self.successors(n, within) {
                if next == start {
                    let mut path = vec![n];
                    while let Some(&p) = parent.get(path.last().expect("path is never empty")) {
                        path.push(p);
                    }
                    path.reverse();
                    return Some(path.into_iter().filter_map(|i| self.graph[i].rank()).collect());
                }
                if next != start && !parent.contains_key(&next) {
                    parent.insert(next, n);
                    queue.push_back(next);
                }
            }
        }
        None
    }

    /// Finds the deadlocked core: the components with a real cycle, one cycle each. The
    /// components come from Kosaraju's algorithm, whose depth-first searches keep their
    /// stack on the heap: Tarjan's, as petgraph writes it, recurses once per node, and a
    /// ring of 100,000 ranks overflowed the main thread's stack.
    pub fn analyse(&self) -> Analysis {
        let mut components: Vec<(Rank, BTreeSet<NodeIndex>)> = Vec::new();
        for scc in kosaraju_scc(&self.graph) {
            let ranks: Vec<Rank> = scc.iter().filter_map(|&i| self.graph[i].rank()).collect();
            let set: BTreeSet<NodeIndex> = scc.iter().copied().collect();
            // A single rank is a cycle only through an AND edge to itself (a receive from
            // itself); a wildcard node never leads back to the rank that entered it.
            let real = ranks.len() >= 2 || (ranks.len() == 1 && self.cycle_from(self.ranks[&ranks[0]], &set).is_some());
            if real {
                let lowest = *ranks.iter().min().expect("a real component has ranks");
                components.push((lowest, set));
            }
        }
        components.sort_by_key(|(lowest, _)| *lowest);
        let mut analysis = Analysis::default();
        for (i, (lowest, set)) in components.iter().enumerate() {
            let start = self.ranks[lowest];
            if let Some(cycle) = self.cycle_from(start, set) {
                analysis.cycles.push(cycle);
            }
            analysis.core.extend(set.iter().filter_map(|&n| self.graph[n].rank()));
            if i == 0 {
                analysis.knot = set.iter().any(|&n| {
                    self.graph
                        .edges_directed(n, Direction::Outgoing)
                        .any(|e| e.weight().kind == EdgeKind::Or && set.contains(&e.target()))
                });
            }
        }
        analysis.core.sort_unstable();
        analysis
    }

    /// The graph in Graphviz DOT: ranks in `core` drawn red, finished ranks dashed, AND
    /// edges solid and OR edges dashed, each labelled with its call.
    pub fn dot(&self, core: &[Rank]) -> String {
        let mut out = String::from(
            "digraph waitfor {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n  \
             edge [fontname=\"monospace\", fontsize=10];\n",
        );
        let name = |i: NodeIndex| match &self.graph[i] {
            Node::Blocked { rank, .. } | Node::Finished { rank } => format!("r{rank}"),
            Node::AnyOf { comm, .. } => format!("any{}_{}", comm, i.index()),
        };
        for i in self.graph.node_indices() {
            let attrs = match &self.graph[i] {
                Node::Blocked { rank, call, location } => {
                    let red = if core.contains(rank) { ", color=red, penwidth=2" } else { "" };
                    format!("label=\"rank {rank}\\n{call}\\n{}\"{red}", escape(location))
                }
                Node::Finished { rank } => format!("label=\"rank {rank}\\nfinished\", style=dashed, color=gray40"),
                Node::AnyOf { name, .. } => {
                    format!("label=\"any rank of\\n{}\", shape=ellipse, style=dotted", escape(name))
                }
            };
            let _ = writeln!(out, "  {} [{attrs}];", name(i));
        }
        for e in self.graph.edge_references() {
            let style = match e.weight().kind {
                EdgeKind::And => "solid",
                EdgeKind::Or => "dashed",
            };
            let label = if e.weight().label.is_empty() {
                String::new()
            } else {
                format!(", label=\"{}\"", escape(&e.weight().label))
            };
            let _ = writeln!(out, "  {} -> {} [style={style}{label}];", name(e.source()), name(e.target()));
        }
        out.push_str("}\n");
        out
    }
}

/// Escapes a string for a DOT double-quoted label.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A `WaitsOn` for one rank.
pub(crate) fn on_rank(rank: Rank, what: String) -> WaitsOn {
    WaitsOn { ranks: vec![rank], any_of: Vec::new(), what }
}

/// The one `or` edge of a wait for any of `edges` (a `waitany`, `waitsome`, `testany`
/// blocked in `call`): their ranks and communicators together, each once.
pub(crate) fn any_of_edges(call: CallKind, edges: impl IntoIterator<Item = WaitsOn>) -> WaitsOn {
    let mut any = WaitsOn { ranks: Vec::new(), any_of: Vec::new(), what: String::new() };
    let mut whats = Vec::new();
    for e in edges {
        any.ranks.extend(e.ranks);
        any.any_of.extend(e.any_of);
        whats.push(e.what);
    }
    any.ranks.sort_unstable();
    any.ranks.dedup();
    any.any_of.sort_unstable();
    any.any_of.dedup();
    any.what = format!("{} of: {}", call.mpi_name(), whats.join(" | "));
    any
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::CallKind;
    use crate::trace::Site;

    fn blocked(rank: Rank, waits_on: Vec<WaitsOn>) -> BlockedCall {
        BlockedCall {
            rank,
            call: CallKind::Recv,
            peer: None,
            tag: None,
            bytes: None,
            comm: Some(0),
            comm_name: None,
            root: None,
            location: Site { file: "x.rs".into(), line: 1, column: 1 },
            waiting_for: String::new(),
            reason: String::new(),
            waits_on,
            last_wildcard: None,
            send_wait: None,
        }
    }

    fn and(r: Rank) -> WaitsOn {
        on_rank(r, format!("recv from {r}"))
    }

    fn any(comm: u32) -> WaitsOn {
        WaitsOn { ranks: vec![], any_of: vec![comm], what: "recv from any".into() }
    }

    #[track_caller]
    fn check(
        blocked: Vec<BlockedCall>,
        finished: &[Rank],
        world: usize,
        cycles: &[&[Rank]],
        core: &[Rank],
        knot: bool,
    ) {
        let comms = BTreeMap::from([(0, (0..world).collect())]);
        let a = WaitForGraph::new(&blocked, finished, &comms).analyse();
        let expected: Vec<Vec<Rank>> = cycles.iter().map(|c| c.to_vec()).collect();
        assert_eq!(a.cycles, expected, "cycles");
        assert_eq!(a.core, core, "core");
        assert_eq!(a.knot, knot, "knot");
    }

    #[test]
    fn a_ring_is_one_cycle_from_its_lowest_rank() {
        let ring = (0..4).map(|r| blocked(r, vec![and((r + 1) % 4)])).collect();
        check(ring, &[], 4, &[&[0, 1, 2, 3]], &[0, 1, 2, 3], false);
    }

    #[test]
    fn ranks_waiting_on_a_cycle_are_not_in_it() {
        // 0 <-> 1; 2 waits for 0; 3 waits for 2.
        let b = vec![
            blocked(0, vec![and(1)]),
            blocked(1, vec![and(0)]),
            blocked(2, vec![and(0)]),
            blocked(3, vec![and(2)]),
        ];
        check(b, &[], 4, &[&[0, 1]], &[0, 1], false);
    }

    #[test]
    fn waiting_on_a_finished_rank_is_no_cycle() {
        let b = vec![blocked(0, vec![and(2)]), blocked(1, vec![and(0)])];
        check(b, &[2], 3, &[], &[], false);
    }

    #[test]
    fn a_receive_from_itself_is_a_cycle_of_one() {
        check(vec![blocked(0, vec![and(0)])], &[1], 2, &[&[0]], &[0], false);
    }

    #[test]
    fn a_wildcard_master_and_its_workers_form_a_knot() {
        let mut b = vec![blocked(0, vec![any(0)])];
        b.extend((1..4).map(|r| blocked(r, vec![and(0)])));
        check(b, &[], 4, &[&[0, 1]], &[0, 1, 2, 3], true);
    }

    #[test]
    fn a_lone_wildcard_waiter_waits_on_finished_ranks_not_on_itself() {
        check(vec![blocked(0, vec![any(0)])], &[1, 2], 3, &[], &[], false);
        // With another blocked rank that does not wait back, still no cycle.
        let b = vec![blocked(0, vec![any(0)]), blocked(1, vec![and(2)])];
        check(b, &[2], 3, &[], &[], false);
    }

    #[test]
    fn every_rank_on_a_wildcard_is_a_knot_of_all() {
        let b = (0..5).map(|r| blocked(r, vec![any(0)])).collect();
        check(b, &[], 5, &[&[0, 1]], &[0, 1, 2, 3, 4], true);
    }

    #[test]
    fn two_cycles_are_both_reported() {
        let b = vec![
            blocked(0, vec![and(1)]),
            blocked(1, vec![and(0)]),
            blocked(2, vec![and(3)]),
            blocked(3, vec![and(2)]),
        ];
        check(b, &[], 4, &[&[0, 1], &[2, 3]], &[0, 1, 2, 3], false);
    }

    #[test]
    fn dot_draws_and_solid_and_or_dashed() {
        let b = vec![blocked(0, vec![and(1)]), blocked(1, vec![any(0)]), blocked(2, vec![and(3)])];
        let comms = BTreeMap::from([(0, vec![0, 1, 2, 3])]);
        let dot = WaitForGraph::new(&b, &[3], &comms).dot(&[0, 1]);
        assert!(dot.starts_with("digraph waitfor {"), "{dot}");
        assert!(dot.contains("r0 -> r1 [style=solid, label=\"recv from 1\"]"), "{dot}");
        assert!(dot.contains("r1 -> any0_"), "{dot}");
        assert!(dot.contains("style=dashed, label=\"recv from any\""), "{dot}");
        assert!(dot.contains("r3 [label=\"rank 3\\nfinished\""), "{dot}");
        assert!(dot.contains("r0 [label=\"rank 0\\nMPI_Recv\\nx.rs:1:1\", color=red"), "{dot}");
    }
}
