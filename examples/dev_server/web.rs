//! Plain request and response values for the synchronous handlers of
//! [`crate::http`] and [`crate::fhir`], which run on blocking threads: the
//! async server ([`crate::server`]) reads the request body (within its
//! limits) before the handler runs and sends the response after.

use std::fmt;

/// The request methods the handlers tell apart.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Other,
}

impl Method {
    pub fn from_http(method: &axum::http::Method) -> Self {
        match method.as_str() {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "DELETE" => Self::Delete,
            "OPTIONS" => Self::Options,
            _ => Self::Other,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
            Self::Other => "OTHER",
        })
    }
}

/// Why the body is missing: too large (413), too slow (408) or broken (400).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BodyError(pub u16);

/// A request with its body read.
pub struct Request {
    pub method: Method,
    /// The request target as sent (path and query).
    pub url: String,
    pub headers: axum::http::HeaderMap,
    pub body: Result<zeroize::Zeroizing<Vec<u8>>, BodyError>,
}

impl Request {
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A header's value, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// One response header.
pub struct Header(pub &'static str, pub String);

/// A response status.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct StatusCode(pub u16);

/// A response: status, headers and the whole body.
pub struct Response {
    status: u16,
    headers: Vec<Header>,
    body: Vec<u8>,
}

/// The handlers' response type.
pub type ResponseBox = Response;

impl Response {
    pub fn from_data(body: Vec<u8>) -> Self {
        Self { status: 200, headers: Vec::new(), body }
    }

    pub fn from_string(body: impl Into<String>) -> Self {
        Self::from_data(body.into().into_bytes())
    }

    pub fn empty(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new() }
    }

    pub fn with_status_code(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn with_header(mut self, header: Header) -> Self {
        self.add_header(header);
        self
    }

    /// Sets a header, replacing one of the same name.
    pub fn add_header(&mut self, header: Header) {
        self.headers.retain(|h| !h.0.eq_ignore_ascii_case(header.0));
        self.headers.push(header);
    }

    pub fn boxed(self) -> Self {
        self
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode(self.status)
    }

    /// The response for the server.
    pub fn into_http(self) -> axum::response::Response {
        let mut response = axum::response::Response::new(axum::body::Body::from(self.body));
        *response.status_mut() = axum::http::StatusCode::from_u16(self.status).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        for Header(name, value) in self.headers {
            if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        response
    }
}

/// A header with a static name.
pub fn header(name: &'static str, value: &str) -> Header {
    Header(name, value.to_owned())
}
