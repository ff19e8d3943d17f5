//! What a session's player plays, and from which moment: the room's video
//! source, or for an autowebinar session its own recording (uploaded, else
//! its address, else the room's source). A session of an autowebinar is
//! shared, so every viewer plays it at the session's current moment.

use tabys_core::{Error, Result, Timestamp};
use tabys_store::Db;

use crate::autowebinars;
use crate::rooms::{self, Room};
use crate::webinars::Webinar;

/// A player's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Nothing to play: no video uploaded yet, or deleted from the library.
    Nothing,
    /// A YouTube embed address.
    YouTube(String),
    /// An HLS playlist's address.
    Hls(String),
    /// A video file's address elsewhere.
    Address(String),
    /// A video uploaded to the organizer, by its file id; pages hand out
    /// links signed for the one viewer.
    Upload(i64),
}

impl Source {
    fn of_address(url: &str) -> Self {
        if let Some(embed) = rooms::youtube_embed(url) {
            Self::YouTube(embed)
        } else if rooms::is_hls(url) {
            Self::Hls(url.to_string())
        } else {
            Self::Address(url.to_string())
        }
    }
}

/// The room's own source.
async fn of_room(db: &Db, room: &Room) -> Result<Source> {
    match room.video_kind.as_str() {
        "upload" => match room.video_file_id {
            Some(f) => uploaded(db, room, f).await,
            None => Ok(Source::Nothing),
        },
        "youtube" => Ok(Source::YouTube(room.embed_url())),
        "hls" => Ok(Source::Hls(room.video_url.clone())),
        _ => Ok(Source::Address(room.video_url.clone())),
    }
}

/// An uploaded file still in the organizer's library.
async fn uploaded(db: &Db, room: &Room, file: i64) -> Result<Source> {
    match tabys_files::get(db, room.org_id, file).await {
        Ok(_) => Ok(Source::Upload(file)),
        Err(Error::NotFound) => Ok(Source::Nothing),
        Err(e) => Err(e),
    }
}

/// What the session's player plays.
pub async fn source(db: &Db, room: &Room, webinar: &Webinar) -> Result<Source> {
    let Some(aw) = webinar.autowebinar_id else {
        return of_room(db, room).await;
    };
    let aw = match autowebinars::find(db, aw).await {
        Ok(aw) => aw,
        // A deleted autowebinar's running session still shows the room's video.
        Err(Error::NotFound) => return of_room(db, room).await,
        Err(e) => return Err(e),
    };
    if let Some(f) = aw.video_file_id
        && let Source::Upload(f) = uploaded(db, room, f).await?
    {
        return Ok(Source::Upload(f));
    }
    if !aw.video_url.is_empty() {
        return Ok(Source::of_address(&aw.video_url));
    }
    of_room(db, room).await
}

/// Where in the video a viewer joining now starts: an autowebinar session
/// plays for everyone at once, so at the time since it began; a live
/// webinar's player is the viewer's own.
pub fn start_offset_ms(webinar: &Webinar, now: Timestamp) -> Option<i64> {
    webinar
        .is_auto()
        .then(|| (now.0 - webinar.starts_at.0).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_played_by_what_it_points_at() {
        assert_eq!(
            Source::of_address("https://youtu.be/abc_DEF-1"),
            Source::YouTube("https://www.youtube.com/embed/abc_DEF-1".into())
        );
        assert_eq!(
            Source::of_address("https://cdn.example.kz/live/index.m3u8?token=1"),
            Source::Hls("https://cdn.example.kz/live/index.m3u8?token=1".into())
        );
        assert_eq!(
            Source::of_address("https://cdn.example.kz/rec.mp4"),
            Source::Address("https://cdn.example.kz/rec.mp4".into())
        );
    }
}
