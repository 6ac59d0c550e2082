//! GitHub's official OpenAPI description (npm `@octokit/openapi`), loaded once, and the
//! request/response checks the fake applies to every exchange.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;

use super::schema;

/// The directory holding `node_modules` with the test data packages.
pub fn node_dir() -> PathBuf {
    std::env::var_os("WAVE_TEST_NODE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/npm"))
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Reads a file from an installed npm package, or `None` (skip) when the package is missing
/// on a developer machine. Under `CI=true` a missing package is a failure.
pub fn package_file(package: &str, file: &str) -> Option<PathBuf> {
    let path = node_dir().join("node_modules").join(package).join(file);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        !ci(),
        "{} is missing (CI=true: a failure, not a skip); run scripts/install-test-deps.sh",
        path.display()
    );
    eprintln!(
        "skipping: {} is missing; run scripts/install-test-deps.sh",
        path.display()
    );
    None
}

static SPEC: OnceLock<Option<Value>> = OnceLock::new();

/// The REST description, or `None` when it is not installed (and not under CI).
pub fn spec() -> Option<&'static Value> {
    SPEC.get_or_init(|| {
        let path = package_file("@octokit/openapi", "generated/api.github.com.json")?;
        let text = std::fs::read_to_string(&path).expect("read the OpenAPI description");
        Some(serde_json::from_str(&text).expect("the OpenAPI description is JSON"))
    })
    .as_ref()
}

/// The operation a method and path select, with the path template and the path parameters.
pub struct Operation<'s> {
    pub template: &'s str,
    pub op: &'s Value,
    pub params: Vec<(String, String)>,
}

/// Finds the described operation for `method` and `path` (without query). The template with
/// the most literal segments wins.
pub fn find_operation<'s>(spec: &'s Value, method: &str, path: &str) -> Option<Operation<'s>> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let paths = spec.get("paths")?.as_object()?;
    let mut best: Option<(usize, Operation<'s>)> = None;
    for (template, item) in paths {
        let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut params = Vec::new();
        let mut literals = 0;
        let mut ok = true;
        for (t, s) in parts.iter().zip(&segments) {
            if t.starts_with('{') && t.ends_with('}') {
                if s.is_empty() {
                    ok = false;
                    break;
                }
                params.push((t[1..t.len() - 1].to_owned(), percent_decode(s)));
            } else if t == s {
                literals += 1;
            } else {
                ok = false;
                break;
            }
        }
        if !ok {
            continue;
        }
        let Some(op) = item.get(method.to_ascii_lowercase()) else {
            continue;
        };
        if best.as_ref().is_none_or(|(l, _)| literals > *l) {
            best = Some((
                literals,
                Operation {
                    template,
                    op,
                    params,
                },
            ));
        }
    }
    best.map(|(_, op)| op)
}

pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => spec
            .pointer(r.trim_start_matches('#'))
            .unwrap_or(&Value::Null),
        None => v,
    }
}

/// A parameter value from a path or query string, typed by its schema.
fn typed(spec: &Value, schema: &Value, raw: &str) -> Value {
    let schema = resolve(spec, schema);
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") => raw
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(raw.to_owned())),
        Some("boolean") => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(raw.to_owned()),
        },
        _ => Value::String(raw.to_owned()),
    }
}

/// Checks a request against the description: the operation exists, path and query
/// parameters are declared and valid, and the body matches the request schema.
pub fn check_request(
    spec: &Value,
    method: &str,
    path_and_query: &str,
    body: Option<&Value>,
) -> Result<String, Vec<String>> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let Some(op) = find_operation(spec, method, path) else {
        return Err(vec![format!(
            "{method} {path}: no such operation in GitHub's REST description"
        )]);
    };
    let mut errors = Vec::new();
    let declared: Vec<&Value> = op
        .op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| resolve(spec, p))
        .collect();
    for (name, raw) in &op.params {
        match declared
            .iter()
            .find(|p| p["in"] == "path" && p["name"] == name.as_str())
        {
            Some(p) => {
                let v = typed(spec, &p["schema"], raw);
                for e in schema::validate(spec, &p["schema"], &v) {
                    errors.push(format!("path parameter {name}: {e}"));
                }
            }
            None => errors.push(format!("path parameter {name} is not declared")),
        }
    }
    let mut seen = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        match declared
            .iter()
            .find(|p| p["in"] == "query" && p["name"] == k.as_str())
        {
            Some(p) => {
                let typed = typed(spec, &p["schema"], &v);
                for e in schema::validate(spec, &p["schema"], &typed) {
                    errors.push(format!("query parameter {k}: {e}"));
                }
            }
            None => errors.push(format!(
                "{method} {}: query parameter `{k}` is not declared",
                op.template
            )),
        }
        seen.push(k);
    }
    for p in &declared {
        if p["in"] == "query" && p["required"] == true {
            let name = p["name"].as_str().unwrap_or_default();
            if !seen.iter().any(|s| s == name) {
                errors.push(format!("required query parameter `{name}` is missing"));
            }
        }
    }
    match (op.op.get("requestBody"), body) {
        (Some(rb), Some(body)) => {
            let rb = resolve(spec, rb);
            match rb.pointer("/content/application~1json/schema") {
                Some(schema) => {
                    for e in schema::validate(spec, schema, body) {
                        errors.push(format!("{method} {} body: {e}", op.template));
                    }
                }
                None => errors.push("the operation takes no JSON body".to_owned()),
            }
        }
        (Some(rb), None) => {
            if resolve(spec, rb)["required"] == true {
                errors.push(format!("{method} {} needs a body", op.template));
            }
        }
        (None, Some(_)) => errors.push(format!("{method} {} takes no body", op.template)),
        (None, None) => {}
    }
    if errors.is_empty() {
        Ok(format!("{method} {}", op.template))
    } else {
        Err(errors)
    }
}

/// Checks a response: the status is declared for the operation and the body matches.
pub fn check_response(
    spec: &Value,
    method: &str,
    path_and_query: &str,
    status: u16,
    body: &Value,
) -> Vec<String> {
    let path = path_and_query.split('?').next().unwrap_or_default();
    let Some(op) = find_operation(spec, method, path) else {
        return vec![format!("{method} {path}: no such operation")];
    };
    let Some(response) = op.op.pointer(&format!("/responses/{status}")) else {
        return vec![format!(
            "{method} {}: status {status} is not a documented response",
            op.template
        )];
    };
    let response = resolve(spec, response);
    match response.pointer("/content/application~1json/schema") {
        Some(schema) => schema::validate(spec, schema, body)
            .into_iter()
            .map(|e| format!("{method} {} response {status}: {e}", op.template))
            .collect(),
        None if body.is_null() => Vec::new(),
        None => vec![format!(
            "{method} {} response {status} has no documented body",
            op.template
        )],
    }
}

/// A documented example value (`components/examples/<name>`).
pub fn example(spec: &Value, name: &str) -> Value {
    spec.pointer(&format!("/components/examples/{name}/value"))
        .cloned()
        .unwrap_or_else(|| panic!("example {name} is in the description"))
}
