//! The export queue: finished spans go into a bounded channel without ever
//! waiting (a full queue drops the span and counts it), and one thread of
//! its own, with a single-threaded runtime, sends them to the collector in
//! batches: every `export_interval`, when a batch is full, and on `flush`.
//! A request never waits for the collector, and a failing collector costs
//! the spans it refused (counted too), nothing else.

use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter as _, SpanProcessor};
use opentelemetry_sdk::Resource;
use prometheus::IntCounter;
use tokio::sync::{mpsc, oneshot};

use super::client::CollectorClient;
use super::settings::Settings;
use crate::{Error, Result};

/// The most spans one export request carries.
const MAX_BATCH: usize = 512;

/// Where lost spans are counted, by why they were lost.
#[derive(Debug, Clone)]
pub(crate) struct Dropped {
    pub queue_full: IntCounter,
    pub export_failed: IntCounter,
}

/// The span processor: the sending side of the queue. Clones share it.
#[derive(Debug, Clone)]
pub(crate) struct Queue {
    spans: mpsc::Sender<SpanData>,
    control: mpsc::UnboundedSender<Control>,
    queue_full: IntCounter,
}

#[derive(Debug)]
enum Control {
    /// Send everything queued, then answer.
    Flush(oneshot::Sender<()>),
    Stop,
}

impl Queue {
    /// Builds the OTLP exporter and starts the thread that feeds it.
    pub(crate) fn start(
        settings: &Settings,
        resource: &Resource,
        dropped: Dropped,
    ) -> Result<Queue> {
        let setup = |e: &dyn std::fmt::Display| Error::internal(format!("telemetry: {e}"));
        let client = CollectorClient::new(settings.headers.clone(), settings.export_timeout);
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(settings.traces_url.clone())
            .with_timeout(settings.export_timeout)
            .build()
            .map_err(|e| setup(&e))?;
        exporter.set_resource(resource);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| setup(&e))?;
        let (spans, spans_rx) = mpsc::channel(settings.max_queue_spans);
        let (control, control_rx) = mpsc::unbounded_channel();
        let worker = Worker {
            exporter,
            interval: settings.export_interval,
            timeout: settings.export_timeout,
            export_failed: dropped.export_failed,
            failing: false,
        };
        std::thread::Builder::new()
            .name("mws-otlp-export".into())
            .spawn(move || runtime.block_on(worker.run(spans_rx, control_rx)))
            .map_err(|e| setup(&e))?;
        Ok(Queue {
            spans,
            control,
            queue_full: dropped.queue_full,
        })
    }

    /// Sends what is queued now; false when that took longer than `timeout`
    /// (what is left still goes, in the background).
    pub(crate) async fn flush(&self, timeout: Duration) -> bool {
        let (done, answered) = oneshot::channel();
        if self.control.send(Control::Flush(done)).is_err() {
            return false;
        }
        matches!(tokio::time::timeout(timeout, answered).await, Ok(Ok(())))
    }
}

impl SpanProcessor for Queue {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if self.spans.try_send(span).is_err() {
            self.queue_full.inc();
        }
    }

    /// Asks for a flush without waiting: this runs on a request's or a
    /// host's thread, which must not block (`Queue::flush` waits, async).
    fn force_flush(&self) -> OTelSdkResult {
        let (done, _) = oneshot::channel();
        let _ = self.control.send(Control::Flush(done));
        Ok(())
    }

    /// The thread sends what is queued and stops; nobody waits for it (a
    /// gateway dropped on a runtime thread must not block it).
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let _ = self.control.send(Control::Stop);
        Ok(())
    }
}

/// The receiving side, on its own thread.
struct Worker {
    exporter: opentelemetry_otlp::SpanExporter,
    interval: Duration,
    timeout: Duration,
    export_failed: IntCounter,
    /// The last export failed (so a failing collector is logged once).
    failing: bool,
}

impl Worker {
    async fn run(
        mut self,
        mut spans: mpsc::Receiver<SpanData>,
        mut control: mpsc::UnboundedReceiver<Control>,
    ) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                span = spans.recv() => match span {
                    Some(span) => {
                        batch.push(span);
                        if batch.len() >= MAX_BATCH {
                            self.export(&mut batch).await;
                        }
                    }
                    None => break,
                },
                message = control.recv() => match message {
                    Some(Control::Flush(done)) => {
                        self.drain(&mut spans, &mut batch).await;
                        let _ = done.send(());
                    }
                    Some(Control::Stop) | None => break,
                },
                _ = tick.tick() => self.export(&mut batch).await,
            }
        }
        self.drain(&mut spans, &mut batch).await;
        let _ = self.exporter.shutdown();
    }

    /// Everything queued, in batches.
    async fn drain(&mut self, spans: &mut mpsc::Receiver<SpanData>, batch: &mut Vec<SpanData>) {
        while let Ok(span) = spans.try_recv() {
            batch.push(span);
            if batch.len() >= MAX_BATCH {
                self.export(batch).await;
            }
        }
        self.export(batch).await;
    }

    async fn export(&mut self, batch: &mut Vec<SpanData>) {
        if batch.is_empty() {
            return;
        }
        let spans = std::mem::replace(batch, Vec::with_capacity(MAX_BATCH));
        let n = spans.len() as u64;
        let error = match tokio::time::timeout(self.timeout, self.exporter.export(spans)).await {
            Ok(Ok(())) => {
                if std::mem::take(&mut self.failing) {
                    tracing::info!("the OTLP collector takes spans again");
                }
                return;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {:?}", self.timeout),
        };
        self.export_failed.inc_by(n);
        if !std::mem::replace(&mut self.failing, true) {
            tracing::warn!(
                %error,
                "could not export spans to the OTLP collector: they are dropped (mws_telemetry_spans_dropped_total) until it takes them again"
            );
        }
    }
}
