//! What the ingress parsers add to the JSON reader (`crate::json_fields`,
//! re-exported here under its old path): the checks of a tool's JSON schema.

pub use crate::json_fields::{join, type_name, Fields};
use crate::{Error, Result};

/// The parts of an object schema the gateway reads when it translates:
/// `properties` an object, `required` an array of strings.
pub fn check_schema_members(schema: &Fields<'_>) -> Result<()> {
    let mut buf = String::new();
    schema.object("properties", &mut buf)?;
    if let Some(required) = schema.array("required")? {
        let required_path = schema.path_of("required");
        for (i, r) in required.iter().enumerate() {
            if !r.is_string() {
                return Err(Error::invalid_field(
                    join(&required_path, i),
                    format!("expected a string, got {}", type_name(r)),
                ));
            }
        }
    }
    Ok(())
}
