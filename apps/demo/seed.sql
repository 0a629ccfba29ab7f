-- The demo's sample database: a small bookshop. `mummyx-demo` builds its SQLite file from this
-- script on first run and then opens it read-only.
CREATE TABLE authors (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  country TEXT NOT NULL,
  born INTEGER
);

CREATE TABLE books (
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  author_id INTEGER NOT NULL REFERENCES authors (id),
  published INTEGER NOT NULL,
  genre TEXT NOT NULL,
  price_cents INTEGER NOT NULL CHECK (price_cents > 0)
);

CREATE TABLE sales (
  id INTEGER PRIMARY KEY,
  book_id INTEGER NOT NULL REFERENCES books (id),
  sold_on TEXT NOT NULL,
  quantity INTEGER NOT NULL CHECK (quantity > 0)
);

CREATE INDEX books_author ON books (author_id);
CREATE INDEX sales_book ON sales (book_id);

INSERT INTO authors (id, name, country, born) VALUES
  (1, 'Ursula K. Le Guin', 'United States', 1929),
  (2, 'Stanisław Lem', 'Poland', 1921),
  (3, 'Octavia E. Butler', 'United States', 1947),
  (4, 'Italo Calvino', 'Italy', 1923),
  (5, 'Liu Cixin', 'China', 1963),
  (6, 'Tove Jansson', 'Finland', 1914),
  (7, 'Chinua Achebe', 'Nigeria', 1930),
  (8, 'Jorge Luis Borges', 'Argentina', 1899);

INSERT INTO books (id, title, author_id, published, genre, price_cents) VALUES
  (1, 'A Wizard of Earthsea', 1, 1968, 'fantasy', 1099),
  (2, 'The Left Hand of Darkness', 1, 1969, 'science fiction', 1299),
  (3, 'The Dispossessed', 1, 1974, 'science fiction', 1399),
  (4, 'Solaris', 2, 1961, 'science fiction', 1199),
  (5, 'The Cyberiad', 2, 1965, 'science fiction', 1149),
  (6, 'Kindred', 3, 1979, 'science fiction', 1249),
  (7, 'Parable of the Sower', 3, 1993, 'science fiction', 1349),
  (8, 'Invisible Cities', 4, 1972, 'literary fiction', 1199),
  (9, 'If on a winter''s night a traveler', 4, 1979, 'literary fiction', 1299),
  (10, 'The Three-Body Problem', 5, 2008, 'science fiction', 1499),
  (11, 'The Summer Book', 6, 1972, 'literary fiction', 1099),
  (12, 'Finn Family Moomintroll', 6, 1948, 'children', 899),
  (13, 'Things Fall Apart', 7, 1958, 'literary fiction', 1049),
  (14, 'Ficciones', 8, 1944, 'short stories', 1199),
  (15, 'The Aleph', 8, 1949, 'short stories', 1149);

INSERT INTO sales (book_id, sold_on, quantity) VALUES
  (1, '2026-01-03', 2), (4, '2026-01-03', 1), (10, '2026-01-04', 3), (13, '2026-01-05', 1),
  (2, '2026-01-07', 1), (8, '2026-01-08', 2), (12, '2026-01-08', 4), (14, '2026-01-09', 1),
  (6, '2026-01-11', 2), (10, '2026-01-12', 5), (3, '2026-01-14', 1), (7, '2026-01-15', 2),
  (9, '2026-01-17', 1), (11, '2026-01-18', 3), (5, '2026-01-20', 1), (15, '2026-01-21', 2),
  (1, '2026-02-01', 1), (10, '2026-02-02', 4), (4, '2026-02-03', 2), (12, '2026-02-05', 2),
  (13, '2026-02-06', 3), (2, '2026-02-08', 2), (6, '2026-02-10', 1), (8, '2026-02-11', 1),
  (14, '2026-02-13', 2), (3, '2026-02-14', 2), (7, '2026-02-16', 1), (10, '2026-02-18', 2),
  (11, '2026-02-20', 1), (9, '2026-02-22', 2), (5, '2026-02-24', 3), (1, '2026-02-26', 2);
