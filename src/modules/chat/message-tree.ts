import type { Types } from 'mongoose';

/** What the tree needs of a message: who it follows, and when it was written. */
export interface TreeNode {
  _id: Types.ObjectId;
  parentId?: Types.ObjectId | null;
  createdAt: Date;
}

const parentKey = (node: TreeNode) => (node.parentId ? String(node.parentId) : '');

/** Older first; ties (same millisecond) by id, which grows within a process. */
const byAge = (a: TreeNode, b: TreeNode) =>
  a.createdAt.getTime() - b.createdAt.getTime() || String(a._id).localeCompare(String(b._id));

/** One chat's messages as a tree: parents, children, and the paths between them. */
export class MessageTree {
  private readonly byId = new Map<string, TreeNode>();
  private readonly children = new Map<string, TreeNode[]>();

  constructor(nodes: readonly TreeNode[]) {
    for (const node of [...nodes].sort(byAge)) {
      this.byId.set(String(node._id), node);
      const siblings = this.children.get(parentKey(node));
      if (siblings) siblings.push(node);
      else this.children.set(parentKey(node), [node]);
    }
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The ids of a message and its siblings (same parent), oldest first. */
  siblingIds(id: string): string[] {
    const node = this.byId.get(id);
    if (!node) return [id];
    return (this.children.get(parentKey(node)) ?? [node]).map((sibling) => String(sibling._id));
  }

  /** The ids from the root down to `id` itself; empty for an id not in the tree. */
  pathTo(id: string): string[] {
    const path: string[] = [];
    let node = this.byId.get(id);
    // The size bound stops a corrupted tree (a cycle) from looping forever.
    while (node && path.length <= this.byId.size) {
      path.push(String(node._id));
      node = node.parentId ? this.byId.get(String(node.parentId)) : undefined;
    }
    return path.reverse();
  }

  /** The path to `id`, then on down to a leaf, taking the most recent child at each step. */
  pathThroughLatest(id: string): string[] {
    const path = this.pathTo(id);
    if (path.length === 0) return path;
    let last = id;
    for (;;) {
      const children = this.children.get(last);
      if (!children?.length || path.length > this.byId.size) return path;
      last = String(children[children.length - 1]!._id);
      path.push(last);
    }
  }
}
