//! The HTTP side of the load generators: one pooled client and the write key, with requests
//! answered as status + body (a transport failure is an `Err`, any status is an `Ok`).

use bytes::Bytes;
use std::time::Duration;

/// A running server's base URL and write key, over one connection pool.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    auth: String,
}

/// A response, read to the end.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Bytes,
}

impl Api {
    /// A client keeping up to `connections` idle keep-alive connections (one per concurrent
    /// client, so no request waits for a connection to be opened after warm-up). `timeout`
    /// bounds every request, so a stuck server fails the benchmark instead of hanging it.
    pub fn new(
        base: &str,
        key: &str,
        connections: usize,
        timeout: Duration,
    ) -> reqwest::Result<Api> {
        Ok(Api {
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(connections)
                .timeout(timeout)
                .build()?,
            base: base.trim_end_matches('/').to_string(),
            auth: format!("Bearer {key}"),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs a JSON body with the write key.
    pub async fn post(&self, path: &str, body: Vec<u8>) -> reqwest::Result<Reply> {
        let res = self
            .client
            .post(self.url(path))
            .header("authorization", &self.auth)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        Self::read(res).await
    }

    pub async fn get(&self, path: &str) -> reqwest::Result<Reply> {
        let res = self.client.get(self.url(path)).send().await?;
        Self::read(res).await
    }

    async fn read(res: reqwest::Response) -> reqwest::Result<Reply> {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.bytes().await?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}
