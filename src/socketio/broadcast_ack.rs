//! Collecting the answers to a broadcast with acks from what the adapter reports.
//!
//! As in Node's `BroadcastOperator`: the broadcast is complete once every node of the cluster has
//! said how many clients it reached and that many answers have arrived. Nodes are counted by the
//! adapter; with no cluster there is one.

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::error::BroadcastAckError;
use super::payload::Payload;
use super::types::AckReport;

/// How many nodes will report a delivery.
enum Nodes {
    /// The adapter is still finding out.
    Asking,
    Known(usize),
    /// The adapter could not tell: collect until the deadline.
    Unknown,
}

/// What has been reported so far.
struct Tally {
    nodes: Nodes,
    /// Nodes that reported their delivery.
    reported: usize,
    /// Clients that got the event, over the nodes that reported.
    expected: usize,
    answers: Vec<Payload>,
}

impl Tally {
    fn every_node_reported(&self) -> bool {
        matches!(self.nodes, Nodes::Known(n) if self.reported >= n)
    }

    fn complete(&self) -> bool {
        self.every_node_reported() && self.answers.len() >= self.expected
    }

    fn add(&mut self, report: AckReport) {
        match report {
            AckReport::Delivered(clients) => {
                self.reported += 1;
                self.expected += clients;
            }
            AckReport::Answer(payload) => self.answers.push(payload),
        }
    }
}

/// Collects the answers until every expected one arrived or the deadline passed.
pub(crate) async fn collect(
    mut nodes: BoxFuture<'static, Option<usize>>,
    mut reports: mpsc::UnboundedReceiver<AckReport>,
    deadline: Instant,
) -> Result<Vec<Payload>, BroadcastAckError> {
    let mut tally = Tally {
        nodes: Nodes::Asking,
        reported: 0,
        expected: 0,
        answers: Vec::new(),
    };
    // Once every sender is gone (nodes done relaying, clients answered or disconnected) nothing
    // more can come; what is missing is still waited for until the deadline, as Socket.IO does.
    let mut open = true;
    while !tally.complete() {
        tokio::select! {
            count = &mut nodes, if matches!(tally.nodes, Nodes::Asking) => {
                tally.nodes = count.map_or(Nodes::Unknown, Nodes::Known);
            }
            report = reports.recv(), if open => match report {
                Some(report) => tally.add(report),
                None => open = false,
            },
            _ = tokio::time::sleep_until(deadline) => {
                let expected = tally.every_node_reported().then_some(tally.expected);
                return Err(BroadcastAckError::Timeout {
                    answers: tally.answers,
                    expected,
                });
            }
        }
    }
    Ok(tally.answers)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::FutureExt;
    use serde_json::json;

    use super::*;

    fn answer(n: i32) -> AckReport {
        AckReport::Answer(Payload::new(vec![json!(n)]))
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_millis(200)
    }

    #[tokio::test]
    async fn completes_once_every_node_and_client_answered() {
        let (reports, received) = mpsc::unbounded_channel();
        // A remote answer may come before its node's count.
        for report in [AckReport::Delivered(1), answer(1), answer(2)] {
            reports.send(report).unwrap();
        }
        let collecting = tokio::spawn(collect(async { Some(2) }.boxed(), received, soon()));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !collecting.is_finished(),
            "the second node has not reported"
        );
        reports.send(AckReport::Delivered(1)).unwrap();
        let answers = collecting.await.unwrap().unwrap();
        assert_eq!(answers.len(), 2);
    }

    #[tokio::test]
    async fn a_missing_answer_ends_at_the_deadline_with_the_others() {
        let (reports, received) = mpsc::unbounded_channel();
        reports.send(AckReport::Delivered(2)).unwrap();
        reports.send(answer(1)).unwrap();
        drop(reports);
        let started = Instant::now();
        let outcome = collect(async { Some(1) }.boxed(), received, soon()).await;
        assert!(started.elapsed() >= Duration::from_millis(190));
        assert_eq!(
            outcome,
            Err(BroadcastAckError::Timeout {
                answers: vec![Payload::new(vec![json!(1)])],
                expected: Some(2),
            })
        );
    }

    #[tokio::test]
    async fn no_recipients_complete_at_once() {
        let (reports, received) = mpsc::unbounded_channel();
        reports.send(AckReport::Delivered(0)).unwrap();
        let outcome = collect(async { Some(1) }.boxed(), received, soon()).await;
        assert_eq!(outcome, Ok(Vec::new()));
    }

    #[tokio::test]
    async fn an_unknown_cluster_is_waited_for_until_the_deadline() {
        let (reports, received) = mpsc::unbounded_channel();
        reports.send(AckReport::Delivered(0)).unwrap();
        let outcome = collect(async { None }.boxed(), received, soon()).await;
        assert_eq!(
            outcome,
            Err(BroadcastAckError::Timeout {
                answers: Vec::new(),
                expected: None,
            })
        );
    }
}
