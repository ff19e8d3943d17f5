-- Online courses: courses sold through a product, their modules and
-- lessons, who may study them (paid access lives in `entitlements`; manual
-- grants, curators, groups and breach blocks live here), drip overrides,
-- assignments and the curator's thread, quizzes, progress, lesson
-- discussions and certificates of completion (LZ 3.5, 6.3-6.5, 9.1-9.5).
-- Times are UTC milliseconds; business dates are 'YYYY-MM-DD' text.

CREATE TABLE courses (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    product_id INTEGER REFERENCES products(id),
    in_subscription INTEGER NOT NULL DEFAULT 0,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    locale TEXT NOT NULL,
    status TEXT NOT NULL,
    late_submissions INTEGER NOT NULL DEFAULT 1,
    signer_name TEXT NOT NULL,
    signer_position TEXT NOT NULL,
    forbidden_words TEXT NOT NULL DEFAULT '',
    links_allowed INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX courses_org ON courses(org_id, id);
CREATE INDEX courses_product ON courses(product_id);

CREATE TABLE course_modules (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    course_id INTEGER NOT NULL REFERENCES courses(id),
    title TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX course_modules_course ON course_modules(course_id, position);

CREATE TABLE lessons (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    course_id INTEGER NOT NULL REFERENCES courses(id),
    module_id INTEGER NOT NULL REFERENCES course_modules(id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL,
    required INTEGER NOT NULL DEFAULT 1,
    drip TEXT NOT NULL,
    open_at INTEGER,
    open_days INTEGER,
    assignment TEXT NOT NULL DEFAULT '',
    deadline_days INTEGER,
    quiz_pass INTEGER,
    quiz_attempts INTEGER,
    quiz_minutes INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX lessons_course ON lessons(course_id, position);

CREATE TABLE course_students (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    course_id INTEGER NOT NULL REFERENCES courses(id),
    student_id INTEGER NOT NULL REFERENCES users(id),
    granted_by INTEGER REFERENCES users(id),
    granted_at INTEGER,
    grant_ends_at INTEGER,
    curator_id INTEGER REFERENCES users(id),
    group_name TEXT NOT NULL DEFAULT '',
    blocked_at INTEGER,
    blocked_by INTEGER REFERENCES users(id),
    block_reason TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    UNIQUE (course_id, student_id)
);
CREATE INDEX course_students_student ON course_students(student_id);
CREATE INDEX course_students_curator ON course_students(org_id, curator_id);

CREATE TABLE lesson_overrides (
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    lesson_id INTEGER NOT NULL REFERENCES lessons(id),
    student_id INTEGER NOT NULL REFERENCES users(id),
    open_at INTEGER,
    deadline_at INTEGER,
    set_by INTEGER NOT NULL REFERENCES users(id),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (lesson_id, student_id)
);

CREATE TABLE submissions (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    course_id INTEGER NOT NULL REFERENCES courses(id),
    lesson_id INTEGER NOT NULL REFERENCES lessons(id),
    student_id INTEGER NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    late INTEGER NOT NULL DEFAULT 0,
    submitted_at INTEGER NOT NULL,
    decided_at INTEGER,
    decided_by INTEGER REFERENCES users(id),
    UNIQUE (lesson_id, student_id)
);
CREATE INDEX submissions_queue ON submissions(org_id, status, submitted_at);

CREATE TABLE submission_comments (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    author_id INTEGER NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX submission_comments_submission ON submission_comments(submission_id, id);

CREATE TABLE quiz_questions (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    lesson_id INTEGER NOT NULL REFERENCES lessons(id),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    prompt TEXT NOT NULL,
    options TEXT NOT NULL,
    answer TEXT NOT NULL
);
CREATE INDEX quiz_questions_lesson ON quiz_questions(lesson_id, position);

CREATE TABLE quiz_attempts (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    lesson_id INTEGER NOT NULL REFERENCES lessons(id),
    student_id INTEGER NOT NULL REFERENCES users(id),
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    score INTEGER NOT NULL DEFAULT 0,
    max_score INTEGER NOT NULL DEFAULT 0,
    passed INTEGER NOT NULL DEFAULT 0,
    answers TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX quiz_attempts_student ON quiz_attempts(lesson_id, student_id);

CREATE TABLE lesson_done (
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    lesson_id INTEGER NOT NULL REFERENCES lessons(id),
    student_id INTEGER NOT NULL REFERENCES users(id),
    done_at INTEGER NOT NULL,
    PRIMARY KEY (lesson_id, student_id)
);

CREATE TABLE lesson_posts (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    lesson_id INTEGER NOT NULL REFERENCES lessons(id),
    author_id INTEGER NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER,
    deleted_by INTEGER REFERENCES users(id)
);
CREATE INDEX lesson_posts_lesson ON lesson_posts(lesson_id, id);

CREATE TABLE certificate_recipients (
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    student_id INTEGER NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    full_name TEXT NOT NULL,
    address TEXT NOT NULL,
    postal_address TEXT NOT NULL,
    bin TEXT NOT NULL,
    email TEXT NOT NULL,
    authorised_name TEXT NOT NULL,
    authorised_position TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, student_id)
);

CREATE TABLE certificates (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    course_id INTEGER NOT NULL REFERENCES courses(id),
    student_id INTEGER NOT NULL REFERENCES users(id),
    number TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    completed_at INTEGER NOT NULL,
    send_by TEXT NOT NULL,
    data_at INTEGER,
    clarify_by TEXT,
    issued_at INTEGER,
    recipient TEXT NOT NULL DEFAULT '{}',
    question TEXT NOT NULL DEFAULT '',
    answer_by TEXT,
    answer TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (course_id, student_id)
);
CREATE INDEX certificates_org ON certificates(org_id, status);

-- Files of a lesson (video, audio, pictures, documents), kept by the files
-- capability and shown to students through links signed for each of them.
CREATE TABLE lesson_files (
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    lesson_id INTEGER NOT NULL REFERENCES lessons(id),
    file_id INTEGER NOT NULL REFERENCES files(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (lesson_id, file_id)
);

-- Files a student attached to a submission.
CREATE TABLE submission_files (
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    file_id INTEGER NOT NULL REFERENCES files(id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (submission_id, file_id)
);
