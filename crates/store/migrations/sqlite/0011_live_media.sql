-- Uploaded media of webinar rooms and autowebinars: a room's cover picture
-- and video, an autowebinar's recording, kept as files of the organizer
-- (the addresses typed before stay as the other choice).

ALTER TABLE live_rooms ADD COLUMN cover_file_id INTEGER REFERENCES files(id);
ALTER TABLE live_rooms ADD COLUMN video_file_id INTEGER REFERENCES files(id);
ALTER TABLE live_autowebinars ADD COLUMN video_file_id INTEGER REFERENCES files(id);
