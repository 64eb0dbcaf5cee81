//! What each answer must look like, per the ingest contract: the checks that turn a response
//! into an event id, or into the failure tag goose reports.

use serde::Deserialize;
use uuid::Uuid;

/// A response as the checks see it.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub status: u16,
    pub replayed: bool,
    pub body: String,
}

#[derive(Deserialize)]
struct EventAnswer {
    event_id: Uuid,
    status: String,
}

fn no_answer() -> String {
    "no response".to_owned()
}

pub fn status_is(answer: Option<&Answer>, expected: u16) -> Result<(), String> {
    let answer = answer.ok_or_else(no_answer)?;
    if answer.status == expected {
        Ok(())
    } else {
        Err(format!("expected {expected}, got {}", answer.status))
    }
}

/// A 202 `{"event_id","status":"accepted"}`: the event id.
pub fn accepted_id(answer: Option<&Answer>) -> Result<Uuid, String> {
    status_is(answer, 202)?;
    let body = answer.map(|a| a.body.as_str()).unwrap_or_default();
    match serde_json::from_str::<EventAnswer>(body) {
        Ok(a) if a.status == "accepted" => Ok(a.event_id),
        Ok(a) => Err(format!("202 with status {:?}", a.status)),
        Err(_) => Err("202 without an event_id".to_owned()),
    }
}

/// A 200 `{"event_id": original, "status":"duplicate"}` with `Idempotent-Replayed: true`.
pub fn duplicate_of(answer: Option<&Answer>, original: Uuid) -> Result<(), String> {
    status_is(answer, 200)?;
    let answer = answer.ok_or_else(no_answer)?;
    if !answer.replayed {
        return Err("duplicate without Idempotent-Replayed: true".to_owned());
    }
    match serde_json::from_str::<EventAnswer>(&answer.body) {
        Ok(a) if a.status != "duplicate" => Err(format!("duplicate with status {:?}", a.status)),
        Ok(a) if a.event_id != original => {
            Err("duplicate names another event_id than the original".to_owned())
        }
        Ok(_) => Ok(()),
        Err(_) => Err("duplicate without an event_id".to_owned()),
    }
}

#[derive(Deserialize)]
struct BatchAnswer {
    results: Vec<BatchItem>,
}

#[derive(Deserialize)]
struct BatchItem {
    code: u16,
    event_id: Option<Uuid>,
    status: Option<String>,
}

/// A 200 `{"results":[...]}` with one result per event: each accepted item's event id, `None`
/// for the others.
pub fn batch_results(answer: Option<&Answer>, events: usize) -> Result<Vec<Option<Uuid>>, String> {
    status_is(answer, 200)?;
    let body = answer.map(|a| a.body.as_str()).unwrap_or_default();
    let parsed: BatchAnswer =
        serde_json::from_str(body).map_err(|_| "answer without results".to_owned())?;
    if parsed.results.len() != events {
        return Err(format!(
            "{} results for {events} events",
            parsed.results.len()
        ));
    }
    Ok(parsed
        .results
        .into_iter()
        .map(|item| match item {
            BatchItem {
                code: 202,
                event_id: Some(id),
                status: Some(s),
            } if s == "accepted" => Some(id),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, replayed: bool, body: &str) -> Answer {
        Answer {
            status,
            replayed,
            body: body.to_owned(),
        }
    }

    #[test]
    fn accepted_answers_yield_their_event_id() {
        let id = Uuid::now_v7();
        let ok = answer(
            202,
            false,
            &format!(r#"{{"event_id":"{id}","status":"accepted"}}"#),
        );
        assert_eq!(accepted_id(Some(&ok)), Ok(id));
        assert_eq!(
            accepted_id(Some(&answer(429, false, "{}"))),
            Err("expected 202, got 429".to_owned())
        );
        assert!(accepted_id(Some(&answer(202, false, "{}"))).is_err());
        assert_eq!(accepted_id(None), Err("no response".to_owned()));
    }

    #[test]
    fn duplicates_must_name_the_original_and_say_replayed() {
        let id = Uuid::now_v7();
        let body = format!(r#"{{"event_id":"{id}","status":"duplicate"}}"#);
        assert_eq!(duplicate_of(Some(&answer(200, true, &body)), id), Ok(()));
        assert!(duplicate_of(Some(&answer(200, false, &body)), id).is_err());
        assert!(duplicate_of(Some(&answer(200, true, &body)), Uuid::now_v7()).is_err());
        let accepted = format!(r#"{{"event_id":"{id}","status":"accepted"}}"#);
        assert_eq!(
            duplicate_of(Some(&answer(202, false, &accepted)), id),
            Err("expected 200, got 202".to_owned())
        );
    }

    #[test]
    fn batch_results_keep_their_order() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let body = format!(
            r#"{{"accepted":2,"results":[{{"code":202,"event_id":"{a}","status":"accepted"}},
            {{"code":429,"error":"rate_limited","message":"slow down"}},
            {{"code":200,"event_id":"{a}","status":"duplicate"}},
            {{"code":202,"event_id":"{b}","status":"accepted"}}]}}"#
        );
        assert_eq!(
            batch_results(Some(&answer(200, false, &body)), 4),
            Ok(vec![Some(a), None, None, Some(b)])
        );
        assert!(batch_results(Some(&answer(200, false, &body)), 5).is_err());
        assert!(batch_results(Some(&answer(413, false, "{}")), 4).is_err());
    }
}
