//! A stream's frames written together: the events already there go out in one
//! write. hyper flushes each time the body has nothing ready, and an upstream's
//! events reach us one per turn of its connection task (hyper's body channel
//! holds one chunk), so without holding back a burst of 24 events would cost
//! 24 writes, each waking the client.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};

use crate::call::FrameStream;

/// Past this much, what is held goes out without waiting for more.
const MAX_WRITE: usize = 64 << 10;
/// The most turns frames are held back while more keep arriving: a bound on
/// the latency a steady trickle of events can add.
const MAX_ROUNDS: u32 = 64;
const IDLE_TURNS: u32 = 2;

pub struct Coalesced {
    frames: FrameStream,
    buf: BytesMut,
    rounds: u32,
    idle: u32,
    done: bool,
}

impl Coalesced {
    pub fn new(frames: FrameStream) -> Self {
        Coalesced {
            frames,
            buf: BytesMut::new(),
            rounds: 0,
            idle: 0,
            done: false,
        }
    }
}

impl Stream for Coalesced {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let mut arrived = false;
        while !this.done && this.buf.len() < MAX_WRITE {
            match this.frames.poll_next_unpin(cx) {
                Poll::Ready(Some(frame)) => {
                    frame.write_to(&mut this.buf);
                    arrived = true;
                }
                Poll::Ready(None) => this.done = true,
                Poll::Pending => break,
            }
        }
        if this.buf.is_empty() {
            return match this.done {
                true => Poll::Ready(None),
                false => Poll::Pending,
            };
        }
        if !arrived {
            this.idle += 1;
        } else {
            this.idle = 0;
        }
        if this.idle < IDLE_TURNS
            && !this.done
            && this.buf.len() < MAX_WRITE
            && this.rounds < MAX_ROUNDS
        {
            // Something came this turn: the tasks feeding us get one more turn
            // (this task is queued behind them) before what is held is written.
            this.rounds += 1;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        this.rounds = 0;
        this.idle = 0;
        Poll::Ready(Some(Ok(this.buf.split().freeze())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::SseFrame;

    fn frame(data: &str) -> SseFrame {
        SseFrame {
            event: None,
            data: data.to_owned(),
        }
    }

    #[tokio::test]
    async fn frames_ready_together_are_one_write() {
        let frames: FrameStream = Box::pin(futures::stream::iter([frame("a"), frame("b")]));
        let writes: Vec<_> = Coalesced::new(frames).map(Result::unwrap).collect().await;
        assert_eq!(writes, vec![Bytes::from_static(b"data: a\n\ndata: b\n\n")]);
    }

    #[tokio::test]
    async fn frames_apart_in_time_are_written_as_they_come() {
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let mut out = Coalesced::new(Box::pin(rx));
        tx.unbounded_send(frame("a")).unwrap();
        assert_eq!(out.next().await.unwrap().unwrap(), "data: a\n\n");
        tx.unbounded_send(frame("b")).unwrap();
        drop(tx);
        assert_eq!(out.next().await.unwrap().unwrap(), "data: b\n\n");
        assert!(out.next().await.is_none());
    }
}
