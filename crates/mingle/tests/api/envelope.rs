//! The cross-cutting behaviour: the error envelope for every kind of failure,
//! correlation IDs, body limits and the base path alias.

use http::{Method, Request};
use serde_json::json;

use crate::harness::{TestApp, BASE};

#[tokio::test]
async fn unknown_routes_are_404_before_authentication() {
    let app = TestApp::new().await;
    for path in
        ["/nope", "/api/v0/partner/nope", "/api/v0/partner/events/x/y/z", "/api/v1/partner/events", "/v0/partner/x"]
    {
        let r = app.request(Method::GET, path, None, None).await;
        r.err(404, "ROUTE_NOT_FOUND");
        let message = r.body["message"].as_str().unwrap();
        // The hint fits where the caller is: a path under the base gets the list of
        // routes, not "partner routes live under" the base it is already under.
        let under_base = path.starts_with("/api/v0/partner/") || path.starts_with("/v0/partner/");
        assert_eq!(message.contains("openapi.json"), under_base, "{path}: {message}");
        assert_eq!(message.contains("live under"), !under_base, "{path}: {message}");
    }
}

#[tokio::test]
async fn options_answers_204_with_the_allowed_methods() {
    let app = TestApp::new().await;
    for (path, allow) in [("/events", "GET,HEAD,OPTIONS,POST"), ("/events/ev-1", "GET,HEAD,OPTIONS")] {
        let r = app.request(Method::OPTIONS, &format!("{BASE}{path}"), None, None).await;
        assert_eq!(r.status, 204, "{path}: {:?} {:?}", r.headers, r.body);
        let mut got: Vec<_> = r.headers["allow"].to_str().unwrap().split(',').map(str::trim).collect();
        got.sort();
        assert_eq!(got.join(","), allow);
        assert!(r.headers.contains_key("x-correlation-id"));
    }
    app.request(Method::OPTIONS, "/nope", None, None).await.err(404, "ROUTE_NOT_FOUND");
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow_before_authentication() {
    let app = TestApp::new().await;
    for (m, path, allow) in [
        ("DELETE", "/events", "POST,GET,HEAD"),
        ("PUT", "/events/ev-1", "GET,HEAD"),
        ("PATCH", "/runs", "POST,GET,HEAD"),
        ("POST", "/auth", "GET,HEAD"),
    ] {
        let r = app.request(m.parse().unwrap(), &format!("{BASE}{path}"), None, None).await;
        r.err(405, "METHOD_NOT_ALLOWED");
        let mut got: Vec<_> = r.headers["allow"].to_str().unwrap().split(',').map(str::trim).collect();
        let mut want: Vec<_> = allow.split(',').collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{m} {path}");
    }
}

#[tokio::test]
async fn bodies_that_are_not_json_objects_are_invalid_json() {
    let app = TestApp::new().await;
    for body in ["", "{", "not json", "[]", "\"text\"", "42", "null", "{\"a\":1}}"] {
        let r = app.post_raw("/events", &app.a.rw, body).await;
        r.err(400, "INVALID_JSON");
    }
    // Whatever the content type.
    let req = Request::builder()
        .method("POST")
        .uri(format!("{BASE}/events"))
        .header("authorization", format!("Bearer {}", app.a.rw))
        .header("content-type", "text/plain")
        .body(axum::body::Body::from("{\"event_id\":\"plain\",\"title\":\"T\"}"))
        .unwrap();
    app.send(req).await.ok(201);
}

#[tokio::test]
async fn correlation_ids_are_echoed_or_generated() {
    let app = TestApp::new().await;
    let send = |cid: Option<&'static str>| {
        let mut b =
            Request::builder().uri(format!("{BASE}/auth")).header("authorization", format!("Bearer {}", app.a.rw));
        if let Some(c) = cid {
            b = b.header("x-correlation-id", c);
        }
        app.send(b.body(axum::body::Body::empty()).unwrap())
    };
    let r = send(Some("req-123:abc_DEF.9")).await;
    r.ok(200);
    assert_eq!(r.body["correlation_id"], "req-123:abc_DEF.9");
    // Invalid ones are replaced by a generated ID.
    for bad in ["has space", "semi;colon", ""] {
        let r = send(Some(bad)).await;
        r.ok(200);
        assert_ne!(r.body["correlation_id"], bad);
    }
    let long: &'static str = Box::leak("a".repeat(129).into_boxed_str());
    let r = send(Some(long)).await;
    assert_ne!(r.body["correlation_id"], long);
    let a = send(None).await;
    let b = send(None).await;
    assert_ne!(a.body["correlation_id"], b.body["correlation_id"]);
    // Errors carry it too, even those produced before authentication.
    let req = Request::builder()
        .uri("/nowhere")
        .header("x-correlation-id", "trace-404")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = app.send(req).await;
    r.err(404, "ROUTE_NOT_FOUND");
    assert_eq!(r.body["correlation_id"], "trace-404");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_and_write_nothing() {
    let app = TestApp::with(&["--max-body-bytes", "1024"]).await;
    let big = json!({"event_id": "big", "title": "T", "description": "x".repeat(2000)});
    app.post("/events", &app.a.rw, &big).await.err(413, "PAYLOAD_TOO_LARGE");
    app.get("/events/big", &app.a.rw).await.err(404, "EVENT_NOT_FOUND");
    // Without a Content-Length (a streamed body) the limit holds as well.
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![Ok(bytes::Bytes::from(big.to_string()))];
    let stream = futures_util::stream::iter(chunks);
    let req = Request::builder()
        .method("POST")
        .uri(format!("{BASE}/events"))
        .header("authorization", format!("Bearer {}", app.a.rw))
        .body(axum::body::Body::from_stream(stream))
        .unwrap();
    app.send(req).await.err(413, "PAYLOAD_TOO_LARGE");
    // Under the limit is fine.
    app.post("/events", &app.a.rw, &json!({"event_id": "small", "title": "T"})).await.ok(201);
}

#[tokio::test]
async fn the_alias_base_path_serves_the_same_api() {
    let app = TestApp::new().await;
    app.event(&app.a.rw, "aliased").await;
    let r = app.request(Method::GET, "/v0/partner/events/aliased", Some(&app.a.rw), None).await;
    assert_eq!(r.ok(200)["event_id"], "aliased");
    app.request(Method::GET, "/v0/partner/auth", None, None).await.err(401, "UNAUTHORIZED");
}
