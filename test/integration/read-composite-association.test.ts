import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { registryFromTexts } from '../../src/definitions/registry';
import { ROOT, startTestApp, type TestApp } from '../support/app';
import { sync } from '../support/sync';

/**
 * A user-defined one-to-many association whose target is keyed by two fks (an enrollment of a student in a
 * course): it synced fine, and every read that loaded it answered 500. Definitions and migration of our own,
 * next to the catalog, in a temporary directory.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulksync-composite-'));
const definitions: Record<string, unknown> = {
  course: {
    entity: 'course',
    fields: { id: { kind: 'id' }, title: { kind: 'string', required: true } },
    associations: {
      enrollments: { type: 'oneToMany', entity: 'enrollment', foreignKey: 'courseId' },
      students: { type: 'manyToMany', entity: 'student', mapping: 'enrollment' },
    },
  },
  student: {
    entity: 'student',
    fields: { id: { kind: 'id' }, name: { kind: 'string', required: true } },
    associations: { enrollments: { type: 'oneToMany', entity: 'enrollment', foreignKey: 'studentId' } },
  },
  enrollment: {
    entity: 'enrollment',
    primaryKey: ['courseId', 'studentId'],
    fields: {
      courseId: { kind: 'fk', references: 'course', required: true, onDelete: 'cascade' },
      studentId: { kind: 'fk', references: 'student', required: true, onDelete: 'cascade' },
      grade: { kind: 'int' },
    },
    associations: {
      course: { type: 'manyToOne', entity: 'course', via: 'courseId' },
      student: { type: 'manyToOne', entity: 'student', via: 'studentId' },
    },
  },
};
const migration = `
exports.up = (knex) => knex.raw(\`
  CREATE TABLE course (id uuid PRIMARY KEY, title varchar(255) NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz);
  CREATE TABLE student (id uuid PRIMARY KEY, name varchar(255) NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz);
  CREATE TABLE enrollment (
    course_id uuid NOT NULL REFERENCES course(id) ON DELETE CASCADE,
    student_id uuid NOT NULL REFERENCES student(id) ON DELETE CASCADE,
    grade integer,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz,
    PRIMARY KEY (course_id, student_id)
  );
  SELECT bulksync_track_changes('course', 'course', ARRAY['id']);
  SELECT bulksync_track_changes('student', 'student', ARRAY['id']);
  SELECT bulksync_track_changes('enrollment', 'enrollment', ARRAY['course_id', 'student_id']);
\`);
exports.down = (knex) => knex.raw('DROP TABLE enrollment, student, course');
`;
fs.mkdirSync(path.join(dir, 'schemas'));
fs.mkdirSync(path.join(dir, 'migrations'));
for (const [name, def] of Object.entries(definitions)) fs.writeFileSync(path.join(dir, 'schemas', `${name}.json`), JSON.stringify(def));
fs.writeFileSync(path.join(dir, 'migrations', '20261201000000_courses.js'), migration);

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    SCHEMAS_DIR: `${path.join(ROOT, 'schemas')},${path.join(dir, 'schemas')}`,
    MIGRATIONS_DIR: `${path.join(ROOT, 'migrations')},${path.join(dir, 'migrations')}`,
  });
});
afterAll(async () => {
  await t.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const id = (n: number) => `0190000000007000800000000000${String(n).padStart(4, '0')}`;

describe('one-to-many to an entity with a composite key', () => {
  beforeAll(async () => {
    await sync(t.app, {
      c: { entity: 'course', action: 'upsert', payload: [{ id: id(1), title: 'Algebra' }, { id: id(2), title: 'Empty' }] },
      s: { entity: 'student', action: 'upsert', payload: [{ id: id(11), name: 'Ada' }, { id: id(12), name: 'Brook' }] },
      e: {
        entity: 'enrollment',
        action: 'upsert',
        payload: [
          { courseId: id(1), studentId: id(12), grade: 2 },
          { courseId: id(1), studentId: id(11), grade: 1 },
        ],
      },
    }).expect(200);
  });

  it('GET loads it: every related record once, in key order, nested associations too', async () => {
    const res = await request(t.app).get(`/api/course/${id(1)}?associations=enrollments.student`).expect(200);
    expect(res.body.data.enrollments).toEqual([
      expect.objectContaining({ courseId: id(1), studentId: id(11), grade: 1, student: expect.objectContaining({ name: 'Ada' }) }),
      expect.objectContaining({ courseId: id(1), studentId: id(12), grade: 2, student: expect.objectContaining({ name: 'Brook' }) }),
    ]);
    const empty = await request(t.app).get(`/api/course/${id(2)}?associations=enrollments`).expect(200);
    expect(empty.body.data.enrollments).toEqual([]);
  });

  it('search loads it for many owners, and from the other side of the mapping', async () => {
    const res = await request(t.app).post('/api/search/student').send({ associations: ['enrollments.course'], sort: [{ field: 'name' }] }).expect(200);
    expect(res.body.data.map((s: { name: string; enrollments: { course: { title: string } }[] }) => [s.name, s.enrollments.map((e) => e.course.title)])).toEqual([
      ['Ada', ['Algebra']],
      ['Brook', ['Algebra']],
    ]);
    const courses = await request(t.app).post('/api/search/course').send({ ids: [id(1)], associations: ['students', 'enrollments'] }).expect(200);
    expect(courses.body.data[0].students.map((s: { name: string }) => s.name)).toEqual(['Ada', 'Brook']);
    expect(courses.body.data[0].enrollments).toHaveLength(2);
  });
});

describe('an fk to an entity with a composite key', () => {
  it('is refused at startup, naming the definition and the field', () => {
    const text = (def: unknown) => JSON.stringify(def);
    const broken = {
      entity: 'certificate',
      fields: { id: { kind: 'id' }, enrollmentId: { kind: 'fk', references: 'enrollment' } },
    };
    const files = [...Object.entries(definitions), ['certificate', broken] as const].map(([name, def]) => ({ file: `${name}.json`, text: text(def) }));
    expect(() => registryFromTexts(files)).toThrow(/certificate\.json: at fields\.enrollmentId\.references: .*enrollment.*composite key/);
  });
});
