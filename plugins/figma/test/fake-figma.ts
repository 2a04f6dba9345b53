/**
 * A FAKE of the Figma plug-in API — exactly the subset src/sandbox/adapter.ts uses (FigmaApi):
 *   figma.currentPage.selection (get/set), figma.getImageByHash(hash).getSizeAsync(),
 *   figma.createImage(bytes).hash, figma.createRectangle(), figma.getNodeByIdAsync(id),
 *   figma.commitUndo();
 *   nodes: id, name, type, visible, parent, children, insertChild, width, height, resize,
 *   relativeTransform (get/set), absoluteTransform, absoluteRenderBounds, fills (get/set),
 *   exportAsync(settings).
 * It cannot render: exportAsync returns the PNG bytes a test constructs for that node (with the
 * size Figma would give at the requested scale) and records the settings it was called with.
 */
import { createImage, encodePng } from '@byteedit/core';
import type { FigmaApi } from '../src/sandbox/adapter';

type M = [[number, number, number], [number, number, number]];
const IDENTITY: M = [
  [1, 0, 0],
  [0, 1, 0],
];

function mul(a: M, b: M): M {
  return [
    [a[0][0] * b[0][0] + a[0][1] * b[1][0], a[0][0] * b[0][1] + a[0][1] * b[1][1], a[0][0] * b[0][2] + a[0][1] * b[1][2] + a[0][2]],
    [a[1][0] * b[0][0] + a[1][1] * b[1][0], a[1][0] * b[0][1] + a[1][1] * b[1][1], a[1][0] * b[0][2] + a[1][1] * b[1][2] + a[1][2]],
  ];
}

export type Render = (width: number, height: number) => Uint8Array;

let ids = 0;

export class FakeNode {
  readonly id = `${++ids}:1`;
  visible = true;
  parent: FakeNode | null = null;
  readonly children: FakeNode[] = [];
  fills: Paint[] = [];
  relativeTransform: M = IDENTITY;
  readonly exportCalls: ExportSettingsImage[] = [];
  /** What exportAsync renders; default: an opaque grey square the size Figma would export. */
  render: Render = (w, h) => encodePng(createImage(w, h, new Uint8Array(w * h * 4).fill(200)));
  renderBoundsOverride: Rect | null | undefined;

  constructor(
    readonly type: string,
    public name: string,
    public width = 100,
    public height = 100,
  ) {}

  at(x: number, y: number): this {
    this.relativeTransform = [
      [1, 0, x],
      [0, 1, y],
    ];
    return this;
  }

  withImage(hash: string): this {
    this.fills = [{ type: 'IMAGE', imageHash: hash, scaleMode: 'FILL' } as ImagePaint];
    return this;
  }

  get absoluteTransform(): M {
    return this.parent ? mul(this.parent.absoluteTransform, this.relativeTransform) : this.relativeTransform;
  }

  get absoluteRenderBounds(): Rect | null {
    if (this.renderBoundsOverride !== undefined) return this.renderBoundsOverride;
    const t = this.absoluteTransform;
    return { x: t[0][2], y: t[1][2], width: this.width, height: this.height };
  }

  appendChild(child: FakeNode): FakeNode {
    return this.insertChild(this.children.length, child);
  }

  insertChild(index: number, child: FakeNode): FakeNode {
    if (child.parent) child.parent.children.splice(child.parent.children.indexOf(child), 1);
    this.children.splice(index, 0, child);
    child.parent = this;
    return child;
  }

  remove(): void {
    if (this.parent) this.parent.children.splice(this.parent.children.indexOf(this), 1);
    this.parent = null;
  }

  resize(w: number, h: number): void {
    this.width = w;
    this.height = h;
  }

  async exportAsync(settings: ExportSettingsImage): Promise<Uint8Array> {
    this.exportCalls.push(settings);
    const s = settings.constraint?.type === 'SCALE' ? settings.constraint.value : 1;
    const box = settings.useAbsoluteBounds ? { width: this.width, height: this.height } : this.absoluteRenderBounds!;
    return this.render(Math.round(box.width * s), Math.round(box.height * s));
  }

  asScene(): SceneNode {
    return this as unknown as SceneNode;
  }
}

export class FakeFigma implements FigmaApi {
  readonly page = new FakeNode('PAGE', 'Page 1');
  selected: FakeNode[] = [];
  readonly imageSizes = new Map<string, { width: number; height: number }>();
  readonly createdImages = new Map<string, Uint8Array>();
  undoCommits = 0;

  readonly currentPage = new FakePage(this);

  select(...nodes: FakeNode[]): void {
    this.selected = nodes;
  }

  getImageByHash(hash: string): { getSizeAsync(): Promise<{ width: number; height: number }> } | null {
    const size = this.imageSizes.get(hash);
    return size ? { getSizeAsync: async () => size } : null;
  }

  createImage(data: Uint8Array): { readonly hash: string } {
    const hash = `created-${this.createdImages.size + 1}`;
    this.createdImages.set(hash, data);
    return { hash };
  }

  createRectangle(): RectangleNode {
    const r = new FakeNode('RECTANGLE', 'Rectangle');
    this.page.appendChild(r);
    return r as unknown as RectangleNode;
  }

  async getNodeByIdAsync(id: string): Promise<BaseNode | null> {
    const find = (n: FakeNode): FakeNode | null => {
      if (n.id === id) return n;
      for (const c of n.children) {
        const f = find(c);
        if (f) return f;
      }
      return null;
    };
    return find(this.page) as unknown as BaseNode | null;
  }

  commitUndo(): void {
    this.undoCommits++;
  }
}

class FakePage {
  constructor(private readonly figma: { selected: FakeNode[] }) {}
  get selection(): ReadonlyArray<SceneNode> {
    return this.figma.selected as unknown as SceneNode[];
  }
  set selection(nodes: ReadonlyArray<SceneNode>) {
    this.figma.selected = nodes as unknown as FakeNode[];
  }
}
