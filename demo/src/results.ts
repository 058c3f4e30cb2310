// The top-5 bars for a prediction and the confusion matrix table, as plain DOM.
export const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text = '', className = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.textContent = text;
  if (className) e.className = className;
  return e;
}

export function renderTop5(list: HTMLElement, probabilities: number[]): void {
  const top = probabilities.map((p, c) => ({ p, c })).sort((a, b) => b.p - a.p).slice(0, 5);
  list.replaceChildren(...top.map(({ p, c }) => {
    const li = el('li', '', 'prediction');
    const bar = el('span', '', 'bar');
    bar.style.width = `${(100 * p).toFixed(1)}%`;
    li.append(el('span', CLASS_NAMES[c], 'name'), el('span', '', 'track'), el('span', `${(100 * p).toFixed(1)}%`, 'pct'));
    li.children[1].append(bar);
    return li;
  }));
}

/** Rows: true class; columns: predicted. Cells shaded by their share of the row; the diagonal in blue. */
export function renderConfusion(table: HTMLTableElement, confusion: number[][]): void {
  const head = el('tr');
  head.append(el('th'), ...CLASS_NAMES.map((n) => el('th', n)));
  const rows = confusion.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    const tr = el('tr');
    tr.append(el('th', CLASS_NAMES[t]), ...row.map((n, p) => {
      const td = el('td', String(n));
      const share = n / total;
      td.style.background = `rgba(${p === t ? '24, 100, 171' : '217, 72, 15'}, ${share.toFixed(3)})`;
      if (share > 0.5) td.style.color = '#fff';
      return td;
    }));
    return tr;
  });
  table.replaceChildren(head, ...rows);
}
