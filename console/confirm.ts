// A confirmation before every action: what will happen, to what, as the page saw it.
import { h } from './dom.js';

/** Resolves true when the operator confirms, false when they cancel (or press Escape). */
export function confirmAction(title: string, ...lines: string[]): Promise<boolean> {
  const dialog = h(
    'dialog',
    { class: 'confirm' },
    h('h3', {}, title),
    lines.map((l) => h('p', {}, l)),
    h(
      'form',
      { method: 'dialog' },
      h('button', { value: 'cancel', class: 'secondary' }, 'Cancel'),
      h('button', { value: 'confirm', class: 'danger' }, 'Confirm'),
    ),
  );
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
    dialog.showModal();
  });
}
