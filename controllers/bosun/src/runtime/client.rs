//! The API client: kube's default stack plus one layer that holds back writes the leader's
//! [`Fence`] refuses, applies a client-side rate limit (client-go's QPS/burst token bucket) and
//! counts every request in the metrics.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{Request, Response};
use kube::client::{Body, ClientBuilder};
use tower::{Layer, Service};

use super::fence::{Fence, is_fenced};
use super::metrics::{METRICS, RequestLabels, classify};

/// A token bucket: `qps` tokens a second, at most `burst` saved up. `qps <= 0` disables it.
#[derive(Debug)]
pub struct RateLimiter {
    qps: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// A bucket that starts full.
    pub fn new(qps: f32, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            qps: f64::from(qps),
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// How long to wait before the next request may go, taking its token now (the wait is 0
    /// when a token is free). Tokens may go negative: later callers queue behind earlier ones.
    pub fn reserve(&self, now: Instant) -> Duration {
        if self.qps <= 0.0 {
            return Duration::ZERO;
        }
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = now.saturating_duration_since(s.1).as_secs_f64();
        s.0 = (s.0 + elapsed * self.qps).min(self.burst);
        s.1 = now;
        s.0 -= 1.0;
        if s.0 >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-s.0 / self.qps)
        }
    }
}

/// The layer: fence, rate limit, then count.
#[derive(Clone)]
pub struct ApiLayer {
    limiter: Arc<RateLimiter>,
    fence: Arc<Fence>,
}

/// The error of a write the fence held back.
#[derive(Debug, thiserror::Error)]
#[error("{method} {path}: not sent, this process's hold of the Lease may have expired")]
pub struct Fenced {
    method: http::Method,
    path: String,
}

impl<S> Layer<S> for ApiLayer {
    type Service = ApiService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        ApiService {
            inner,
            limiter: self.limiter.clone(),
            fence: self.fence.clone(),
        }
    }
}

/// The service [`ApiLayer`] wraps around kube's stack.
pub struct ApiService<S> {
    inner: S,
    limiter: Arc<RateLimiter>,
    fence: Arc<Fence>,
}

impl<S, B> Service<Request<Body>> for ApiService<S>
where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Future: Send + 'static,
    S::Error: Into<tower::BoxError> + 'static,
{
    type Response = S::Response;
    type Error = tower::BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        if is_fenced(req.method(), req.uri().path()) && !self.fence.allows(Instant::now()) {
            let err = Fenced {
                method: req.method().clone(),
                path: req.uri().path().to_string(),
            };
            return Box::pin(async move { Err(err.into()) });
        }
        let (verb, resource) = classify(req.method(), req.uri());
        let wait = self.limiter.reserve(Instant::now());
        // kube's stack does its work when the future is polled, so waiting first delays the
        // request itself.
        let fut = self.inner.call(req);
        Box::pin(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let res = fut.await.map_err(Into::into);
            let code = match &res {
                Ok(r) => r.status().as_u16().to_string(),
                Err(_) => "error".to_string(),
            };
            METRICS
                .requests
                .get_or_create(&RequestLabels {
                    verb: verb.to_string(),
                    resource,
                    code,
                })
                .inc();
            res
        })
    }
}

/// A client without a rate limit or a leader fence, for the commands that neither lead nor write
/// in bulk (`bosun dns`, `selftest`, `uninstall-check`).
pub async fn unfenced() -> Result<kube::Client, kube::Error> {
    build(0.0, 1, Arc::new(Fence::open())).await
}

/// A client for the cluster of KUBECONFIG or the in-cluster config, limited to `qps`/`burst`
/// (`qps <= 0`: unlimited), its writes held back while `fence` refuses them, counted in the
/// metrics.
pub async fn build(qps: f32, burst: u32, fence: Arc<Fence>) -> Result<kube::Client, kube::Error> {
    let config = kube::Config::infer()
        .await
        .map_err(kube::Error::InferConfig)?;
    from_config(config, qps, burst, fence)
}

/// A client for `config` with a rate limiter of its own.
fn from_config(
    config: kube::Config,
    qps: f32,
    burst: u32,
    fence: Arc<Fence>,
) -> Result<kube::Client, kube::Error> {
    let layer = ApiLayer {
        limiter: Arc::new(RateLimiter::new(qps, burst)),
        fence,
    };
    Ok(ClientBuilder::try_from(config)?.with_layer(&layer).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_lets_a_burst_through_then_paces_at_qps() {
        let l = RateLimiter::new(10.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.reserve(t0), Duration::ZERO);
        }
        let w = l.reserve(t0);
        assert!((w.as_secs_f64() - 0.1).abs() < 1e-9, "{w:?}");
        let w = l.reserve(t0);
        assert!(
            (w.as_secs_f64() - 0.2).abs() < 1e-9,
            "queued behind the first: {w:?}"
        );
        // A second later the debt of 2 is paid and 8 more tokens accrued, capped at 3.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(l.reserve(t1), Duration::ZERO);
    }

    #[test]
    fn qps_zero_means_unlimited() {
        let l = RateLimiter::new(0.0, 1);
        let t0 = Instant::now();
        for _ in 0..100 {
            assert_eq!(l.reserve(t0), Duration::ZERO);
        }
    }
}
