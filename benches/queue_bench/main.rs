//! `queue-bench`: the job queue's throughput and latency harness (filled by the queue work).

fn main() {}
