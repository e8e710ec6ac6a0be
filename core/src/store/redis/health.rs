//! Deployment health shared between instances: one hash, `deployments`,
//! deployment id → "cooldown_until open_until stamp" (Unix ms). A write
//! replaces a field only when its stamp is newer (one short script), so a
//! slow instance cannot put an older state back. The hash lives for a day
//! after its last write: a deployment no longer configured leaves nothing.

use std::collections::HashMap;

use redis::{AsyncCommands, Script};

use super::state::{store_error, Inner};
use crate::store::HealthMark;
use crate::Result;

const TTL_SECS: i64 = 24 * 3600;

/// KEYS[1] the hash; ARGV: ttl, then (field, value, stamp) triples.
const PUT: &str = r"
for i = 2, #ARGV, 3 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  local stamp = old and tonumber(string.match(old, '(%d+)$')) or -1
  if tonumber(ARGV[i + 2]) > stamp then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 0
";

pub(super) fn script() -> Script {
    Script::new(PUT)
}

fn encode(m: &HealthMark) -> String {
    format!("{} {} {}", m.cooldown_until, m.open_until, m.stamp)
}

fn decode(deployment: String, v: &str) -> Option<HealthMark> {
    let mut parts = v.split(' ').map(str::parse::<u64>);
    let (Some(Ok(cooldown_until)), Some(Ok(open_until)), Some(Ok(stamp))) =
        (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some(HealthMark {
        deployment,
        cooldown_until,
        open_until,
        stamp,
    })
}

impl Inner {
    pub(super) async fn put_health(&self, script: &Script, marks: &[HealthMark]) -> Result<()> {
        let mut c = self.conn().await?;
        let mut invocation = script.key(self.layout.deployments());
        invocation.arg(TTL_SECS);
        for m in marks {
            invocation.arg(&m.deployment).arg(encode(m)).arg(m.stamp);
        }
        invocation
            .invoke_async::<i64>(&mut c)
            .await
            .map(|_| ())
            .map_err(store_error)
    }

    pub(super) async fn shared_health(&self) -> Result<Vec<HealthMark>> {
        let mut c = self.conn().await?;
        let all: HashMap<String, String> = c
            .hgetall(self.layout.deployments())
            .await
            .map_err(store_error)?;
        Ok(all.into_iter().filter_map(|(d, v)| decode(d, &v)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_round_trip_and_garbage_is_skipped() {
        let m = HealthMark {
            deployment: "up/model".into(),
            cooldown_until: 1_700_000_000_123,
            open_until: 0,
            stamp: 1_700_000_000_000,
        };
        assert_eq!(decode(m.deployment.clone(), &encode(&m)), Some(m));
        assert_eq!(decode("x".into(), "1 2"), None);
        assert_eq!(decode("x".into(), "a b c"), None);
    }
}
