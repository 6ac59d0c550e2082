//! A strict validator for the OpenAPI 3.0 schema dialect GitHub's REST description uses.
//!
//! Strict: a keyword it does not know is a validation error, so a schema it cannot check never
//! passes silently.

use serde_json::Value;

/// Keywords that only annotate.
const ANNOTATIONS: &[&str] = &[
    "description",
    "example",
    "examples",
    "title",
    "default",
    "readOnly",
    "writeOnly",
    "deprecated",
    "format",
    "externalDocs",
    "discriminator",
    "xml",
];

/// Validates `value` against `schema`, resolving `$ref`s in `root`. Returns every violation
/// as `path: message`.
pub fn validate(root: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(root, schema, value, "$", &mut errors, 0);
    errors
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> Result<&'a Value, String> {
    let mut current = schema;
    for _ in 0..32 {
        match current.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference
                    .strip_prefix('#')
                    .ok_or_else(|| format!("external $ref {reference} is not supported"))?;
                current = root
                    .pointer(pointer)
                    .ok_or_else(|| format!("$ref {reference} does not resolve"))?;
            }
            None => return Ok(current),
        }
    }
    Err("$ref chain too deep".to_owned())
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check(
    root: &Value,
    schema: &Value,
    value: &Value,
    path: &str,
    errors: &mut Vec<String>,
    depth: usize,
) {
    if depth > 64 {
        errors.push(format!("{path}: schema nesting too deep"));
        return;
    }
    let schema = match resolve(root, schema) {
        Ok(s) => s,
        Err(e) => {
            errors.push(format!("{path}: {e}"));
            return;
        }
    };
    let Some(obj) = schema.as_object() else {
        if schema == &Value::Bool(false) {
            errors.push(format!("{path}: no value is allowed here"));
        }
        return;
    };
    let nullable = obj.get("nullable").and_then(Value::as_bool) == Some(true);
    if value.is_null() && nullable {
        return;
    }
    for (key, keyword) in obj {
        match key.as_str() {
            "type" => {
                let want = keyword.as_str().unwrap_or_default();
                let have = type_name(value);
                let ok = want == have || (want == "number" && have == "integer");
                if !ok {
                    errors.push(format!("{path}: expected {want}, found {have}"));
                    return;
                }
            }
            "nullable" => {}
            "enum" => {
                let options = keyword.as_array().map(Vec::as_slice).unwrap_or_default();
                if !(options.contains(value) || value.is_null() && nullable) {
                    errors.push(format!("{path}: {value} is not one of {keyword}"));
                }
            }
            "properties" => {
                if let (Some(props), Some(map)) = (keyword.as_object(), value.as_object()) {
                    for (name, sub) in props {
                        if let Some(v) = map.get(name) {
                            check(root, sub, v, &format!("{path}.{name}"), errors, depth + 1);
                        }
                    }
                }
            }
            "required" => {
                if let Some(map) = value.as_object() {
                    for name in keyword.as_array().into_iter().flatten() {
                        if let Some(name) = name.as_str()
                            && !map.contains_key(name)
                        {
                            errors.push(format!("{path}: missing required `{name}`"));
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(map) = value.as_object() {
                    let declared = obj.get("properties").and_then(Value::as_object);
                    for (name, v) in map {
                        if declared.is_some_and(|d| d.contains_key(name)) {
                            continue;
                        }
                        match keyword {
                            Value::Bool(true) => {}
                            Value::Bool(false) => {
                                errors.push(format!("{path}: property `{name}` is not allowed"));
                            }
                            sub => {
                                check(root, sub, v, &format!("{path}.{name}"), errors, depth + 1)
                            }
                        }
                    }
                }
            }
            "items" => {
                if let Some(items) = value.as_array() {
                    for (i, v) in items.iter().enumerate() {
                        check(root, keyword, v, &format!("{path}[{i}]"), errors, depth + 1);
                    }
                }
            }
            "maxItems" | "minItems" => {
                if let (Some(items), Some(n)) = (value.as_array(), keyword.as_u64()) {
                    let len = items.len() as u64;
                    if (key == "maxItems" && len > n) || (key == "minItems" && len < n) {
                        errors.push(format!("{path}: {len} items, {key} is {n}"));
                    }
                }
            }
            "maxLength" | "minLength" => {
                if let (Some(s), Some(n)) = (value.as_str(), keyword.as_u64()) {
                    let len = s.chars().count() as u64;
                    if (key == "maxLength" && len > n) || (key == "minLength" && len < n) {
                        errors.push(format!("{path}: {len} characters, {key} is {n}"));
                    }
                }
            }
            "maxProperties" => {
                if let (Some(m), Some(n)) = (value.as_object(), keyword.as_u64())
                    && m.len() as u64 > n
                {
                    errors.push(format!(
                        "{path}: {} properties, maxProperties is {n}",
                        m.len()
                    ));
                }
            }
            "minimum" | "maximum" => {
                if let (Some(v), Some(n)) = (value.as_f64(), keyword.as_f64())
                    && ((key == "minimum" && v < n) || (key == "maximum" && v > n))
                {
                    errors.push(format!("{path}: {v} violates {key} {n}"));
                }
            }
            "uniqueItems" => {
                if let Some(items) = value.as_array()
                    && keyword == &Value::Bool(true)
                {
                    for (i, a) in items.iter().enumerate() {
                        if items.iter().skip(i + 1).any(|b| a == b) {
                            errors.push(format!("{path}: items are not unique"));
                            break;
                        }
                    }
                }
            }
            "pattern" => {
                if let (Some(s), Some(p)) = (value.as_str(), keyword.as_str()) {
                    match regex::Regex::new(p) {
                        Ok(re) if re.is_match(s) => {}
                        Ok(_) => errors.push(format!("{path}: `{s}` does not match /{p}/")),
                        Err(e) => errors.push(format!("{path}: pattern /{p}/ unsupported: {e}")),
                    }
                }
            }
            "allOf" => {
                for sub in keyword.as_array().into_iter().flatten() {
                    check(root, sub, value, path, errors, depth + 1);
                }
            }
            "anyOf" | "oneOf" => {
                let subs = keyword.as_array().map(Vec::as_slice).unwrap_or_default();
                let mut matched = 0;
                let mut reasons = Vec::new();
                for sub in subs {
                    let mut errs = Vec::new();
                    check(root, sub, value, path, &mut errs, depth + 1);
                    if errs.is_empty() {
                        matched += 1;
                    } else {
                        reasons.push(errs.join("; "));
                    }
                }
                if matched == 0 {
                    errors.push(format!(
                        "{path}: matches none of {key}: [{}]",
                        reasons.join(" | ")
                    ));
                } else if key == "oneOf" && matched > 1 {
                    errors.push(format!("{path}: matches {matched} branches of oneOf"));
                }
            }
            "not" => {
                let mut errs = Vec::new();
                check(root, keyword, value, path, &mut errs, depth + 1);
                if errs.is_empty() {
                    errors.push(format!("{path}: matches a `not` schema"));
                }
            }
            "$ref" => {}
            other if other.starts_with("x-") || ANNOTATIONS.contains(&other) => {}
            other => errors.push(format!("{path}: schema keyword `{other}` is not supported")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checks_types_limits_and_refs() {
        let root = json!({"components": {"schemas": {"s": {"type": "string", "maxLength": 3}}}});
        let schema = json!({
            "type": "object", "required": ["a"],
            "properties": {
                "a": {"$ref": "#/components/schemas/s"},
                "b": {"type": "array", "maxItems": 1, "items": {"type": "integer"}},
                "c": {"type": "string", "nullable": true, "enum": ["x"]}
            }
        });
        assert!(validate(&root, &schema, &json!({"a": "abc", "b": [1], "c": null})).is_empty());
        assert_eq!(validate(&root, &schema, &json!({"a": "abcd"})).len(), 1);
        assert_eq!(validate(&root, &schema, &json!({"b": [1, 2]})).len(), 2);
        assert_eq!(
            validate(&root, &schema, &json!({"a": "a", "c": "y"})).len(),
            1
        );
        assert_eq!(
            validate(&root, &json!({"frobnicate": 1}), &json!(1)).len(),
            1
        );
    }
}
